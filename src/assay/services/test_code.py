"""Checks a test case's code on write, so a broken test is refused, not queued."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from assay.errors import InvalidInput


@dataclass
class CodeProblem(InvalidInput):
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return self.message


def _is_test_function(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def check_test_code(code: str) -> list[str]:
    """Parse `code` as a pytest module; return the names of the tests it defines.

    Raises CodeProblem naming line and column for a syntax error, or when the module
    defines no test pytest would collect.
    """
    try:
        tree = ast.parse(code, filename="<test case>")
    except SyntaxError as exc:
        line, col = exc.lineno, exc.offset
        raise CodeProblem(
            f"syntax error at line {line}, column {col}: {exc.msg}", line, col
        ) from exc
    except ValueError as exc:  # e.g. null bytes
        raise CodeProblem(f"code cannot be parsed: {exc}") from exc
    names: list[str] = []
    for node in tree.body:
        if _is_test_function(node):
            names.append(node.name)  # type: ignore[attr-defined]
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names += [f"{node.name}.{m.name}" for m in node.body if _is_test_function(m)]  # type: ignore[attr-defined]
    if not names:
        raise CodeProblem(
            "code defines no test: add a function named test_... (or a Test... class "
            "with test_... methods) so pytest collects it"
        )
    return names
