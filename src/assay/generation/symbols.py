"""Find the functions and methods of a project by reading its source (never importing it).

Importing user code in the server process would run it outside the sandbox, so
everything here works on `ast` only. Names are `pkg.module:Qual.name`, the form the
UI pickers show and `GenerationRequest.target` accepts.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assay.generation.errors import GenerationInputError

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".env",
        "node_modules",
        "__pycache__",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        ".assay_gen",
        ".eggs",
    }
)

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Symbol:
    """One function or method of the project, as a picker shows it."""

    qualified: str  # "pkg.module:Class.method"
    module: str  # "pkg.module"
    qualname: str  # "Class.method"
    file: str  # path relative to the project root, posix
    kind: str  # "function" | "method"
    signature: str  # "(value, ndigits=None) -> str"
    line_start: int  # first line, decorators included
    line_end: int
    is_async: bool = False

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]

    @property
    def class_name(self) -> str | None:
        return self.qualname.rsplit(".", 1)[0] if "." in self.qualname else None

    def to_dict(self) -> dict[str, object]:
        return {
            "qualified": self.qualified,
            "module": self.module,
            "qualname": self.qualname,
            "file": self.file,
            "kind": self.kind,
            "signature": self.signature,
            "line_start": self.line_start,
            "line_end": self.line_end,
        }


def iter_python_files(project_dir: Path) -> Iterator[Path]:
    """Yield the project's .py files, skipping environments, caches and hidden folders."""
    for path in sorted(project_dir.rglob("*.py")):
        rel_parts = path.relative_to(project_dir).parts
        if any(p in SKIPPED_DIRS or p.startswith(".") for p in rel_parts[:-1]):
            continue
        if any(
            (project_dir.joinpath(*rel_parts[: i + 1]) / "pyvenv.cfg").exists()
            for i in range(len(rel_parts) - 1)
        ):
            continue  # a virtualenv under any name
        yield path


def import_root(project_dir: Path, file: Path) -> Path:
    """The folder that must be on sys.path for `file` to import as a package module.

    Walks up while folders are packages (have `__init__.py`); handles flat and `src/`
    layouts alike without reading any packaging metadata.
    """
    folder = file.parent
    while folder != project_dir and (folder / "__init__.py").exists():
        folder = folder.parent
    return folder


def module_name(project_dir: Path, file: Path) -> str:
    root = import_root(project_dir, file)
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def signature_text(node: FuncNode) -> str:
    text = f"({ast.unparse(node.args)})"
    if node.returns is not None:
        text += f" -> {ast.unparse(node.returns)}"
    return text


def first_line(node: FuncNode | ast.ClassDef) -> int:
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def walk_functions(tree: ast.Module) -> Iterator[tuple[str, FuncNode, bool]]:
    """Yield (qualname, node, is_method) for module functions and (nested) class methods.

    Functions nested in functions are part of their enclosing function: a test can only
    reach them through it.
    """

    def visit(
        body: list[ast.stmt], prefix: str, in_class: bool
    ) -> Iterator[tuple[str, FuncNode, bool]]:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield prefix + node.name, node, in_class
            elif isinstance(node, ast.ClassDef):
                yield from visit(node.body, f"{prefix}{node.name}.", True)

    yield from visit(tree.body, "", False)


def module_symbols(project_dir: Path, file: Path, tree: ast.Module | None = None) -> list[Symbol]:
    if tree is None:
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            return []
    module = module_name(project_dir, file)
    rel = file.relative_to(project_dir).as_posix()
    return [
        Symbol(
            qualified=f"{module}:{qual}",
            module=module,
            qualname=qual,
            file=rel,
            kind="method" if is_method else "function",
            signature=signature_text(node),
            line_start=first_line(node),
            line_end=node.end_lineno or node.lineno,
            is_async=isinstance(node, ast.AsyncFunctionDef),
        )
        for qual, node, is_method in walk_functions(tree)
    ]


def all_symbols(project_dir: Path) -> list[Symbol]:
    symbols: list[Symbol] = []
    for file in iter_python_files(project_dir):
        symbols.extend(module_symbols(project_dir, file))
    return symbols


TEST_DIRS = frozenset({"tests", "test"})


def is_test_file(rel: str) -> bool:
    """A file of the project's own test suite: under tests/, test_*.py, *_test.py, conftest.py.

    Its functions are tests and fixtures, not code to generate tests for.
    """
    parts = rel.split("/")
    name = parts[-1]
    return (
        any(p in TEST_DIRS for p in parts[:-1])
        or name == "conftest.py"
        or name.startswith("test_")
        or name.endswith("_test.py")
    )


def list_symbols(project_dir: Path, q: str = "", limit: int = 200) -> list[Symbol]:
    """The project's functions and methods matching `q` (case-insensitive substring).

    The project's own tests (`is_test_file`) are left out. Names that start with the
    query come first, then the rest alphabetically.
    """
    needle = q.strip().lower()
    found = [
        s
        for s in all_symbols(Path(project_dir))
        if needle in s.qualified.lower() and not is_test_file(s.file)
    ]
    found.sort(key=lambda s: (not s.qualname.lower().startswith(needle), s.qualified))
    return found[:limit]


def closest_names(name: str, candidates: list[str], n: int = 5) -> list[str]:
    by_full = difflib.get_close_matches(name, candidates, n=n, cutoff=0.4)
    tail = name.split(":")[-1]
    by_tail = difflib.get_close_matches(
        tail, [c.split(":")[-1] for c in candidates], n=n, cutoff=0.6
    )
    extra = [c for c in candidates if c.split(":")[-1] in by_tail]
    return list(dict.fromkeys(by_full + extra))[:n]


def resolve_target(symbols: list[Symbol], target: str) -> Symbol:
    """Find `pkg.module:Qual.name` (or the dotted `pkg.module.Qual.name`) among symbols."""
    wanted = target.strip()
    by_name = {s.qualified: s for s in symbols}
    if wanted in by_name:
        return by_name[wanted]
    if ":" not in wanted:
        dotted = [s for s in symbols if f"{s.module}.{s.qualname}" == wanted]
        if len(dotted) == 1:
            return dotted[0]
        bare = [s for s in symbols if s.qualname == wanted]
        if len(bare) == 1:
            return bare[0]
    close = closest_names(wanted, list(by_name))
    hint = f"; closest names: {', '.join(close)}" if close else ""
    raise GenerationInputError(
        f"unknown target {wanted!r}: expected 'pkg.module:function' or "
        f"'pkg.module:Class.method' of this project{hint}",
        field="target",
    )
