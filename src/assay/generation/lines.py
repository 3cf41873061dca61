"""Map source lines to the statement lines coverage.py reports.

coverage.py records a multi-line statement under its first line and never reports a
docstring, a blank line or a `def` header as executed by a call. A changed line is
therefore translated to the statement that owns it before it can be a coverage target.
"""

from __future__ import annotations

import ast

from assay.generation.symbols import FuncNode


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _body_statements(func: FuncNode) -> list[ast.stmt]:
    body = list(func.body)
    if body and _is_docstring(body[0]):
        body = body[1:]
    return body


def statement_owner(func: FuncNode) -> dict[int, int]:
    """Map every physical line of `func` to the statement line coverage reports for it.

    The signature and decorators map to the first body statement: a changed signature
    is exercised by any call.
    """
    owner: dict[int, int] = {}
    body = _body_statements(func)
    stmts: list[ast.stmt] = []
    for top in body:
        stmts.extend(n for n in ast.walk(top) if isinstance(n, ast.stmt))
    # Outer statements first, inner ones overwrite the lines they own.
    for stmt in sorted(stmts, key=lambda s: (s.end_lineno or s.lineno) - s.lineno, reverse=True):
        for line in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1):
            owner[line] = stmt.lineno
    if body:
        first_stmt = body[0].lineno
        header_start = min([func.lineno, *(d.lineno for d in func.decorator_list)])
        for line in range(header_start, func.body[0].lineno):
            owner.setdefault(line, first_stmt)
        docstring = func.body[0] if _is_docstring(func.body[0]) else None
        if docstring is not None:
            for line in range(docstring.lineno, (docstring.end_lineno or docstring.lineno) + 1):
                owner.setdefault(line, first_stmt)
    return owner


def executable_lines(func: FuncNode) -> list[int]:
    """All statement lines of the function body (docstring excluded)."""
    return sorted(set(statement_owner(func).values()))


def target_lines_for(func: FuncNode, changed: set[int]) -> list[int]:
    owner = statement_owner(func)
    return sorted({owner[line] for line in changed if line in owner})
