"""Turn a request into targets: which functions, in which file, which lines to cover.

Pure `ast` work on a tree of files, fast enough for the API to call synchronously
(`validate_request`) so bad input becomes a 422 before any sandbox starts.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from assay.generation.diff import FileChange, apply_to_tree, parse_diff
from assay.generation.errors import GenerationInputError
from assay.generation.lines import executable_lines, target_lines_for
from assay.generation.model import GenerationRequest, TargetInfo
from assay.generation.symbols import (
    Symbol,
    all_symbols,
    first_line,
    module_symbols,
    resolve_target,
    walk_functions,
)

SNIPPET_MODULE = "assay_snippet"


@dataclass
class Plan:
    """Everything decided about a request before running anything."""

    targets: list[TargetInfo]
    notes: list[str] = field(default_factory=list)
    support_files: dict[str, str] = field(default_factory=dict)
    parsed_diff: object | None = None


def check_source(source: str) -> ast.Module:
    try:
        return ast.parse(source, filename=f"{SNIPPET_MODULE}.py")
    except SyntaxError as exc:
        raise GenerationInputError(
            f"syntax error in source at line {exc.lineno}, column {exc.offset}: {exc.msg}",
            field="source",
        ) from exc


def _target_info(
    sym: Symbol, node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[int]
) -> TargetInfo:
    return TargetInfo(
        name=sym.qualified,
        module=sym.module,
        qualname=sym.qualname,
        file=sym.file,
        kind=sym.kind,
        signature=sym.signature,
        line_start=sym.line_start,
        line_end=sym.line_end,
        lines=lines,
        is_async=sym.is_async,
    )


def _nodes(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {qual: node for qual, node, _ in walk_functions(tree)}


def _parse_file(project_dir: Path, rel: str) -> ast.Module:
    path = project_dir / rel
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    except SyntaxError as exc:
        raise GenerationInputError(
            f"{rel} does not parse after applying the diff: line {exc.lineno}, column "
            f"{exc.offset}: {exc.msg}",
            field="diff",
        ) from exc


def plan_function(request: GenerationRequest, project_dir: Path) -> Plan:
    if request.source is not None and request.source.strip():
        tree = check_source(request.source)
        snippet = project_dir / f"{SNIPPET_MODULE}.py"
        # Symbols are computed from the text itself; the file is written later, in the workspace.
        symbols = [
            Symbol(
                qualified=f"{SNIPPET_MODULE}:{qual}",
                module=SNIPPET_MODULE,
                qualname=qual,
                file=snippet.name,
                kind="method" if is_method else "function",
                signature=f"({ast.unparse(node.args)})",
                line_start=first_line(node),
                line_end=node.end_lineno or node.lineno,
                is_async=isinstance(node, ast.AsyncFunctionDef),
            )
            for qual, node, is_method in walk_functions(tree)
        ]
        if not symbols:
            raise GenerationInputError("the source defines no function or method", field="source")
        nodes = _nodes(tree)
        if request.target:
            wanted = request.target.split(":")[-1]
            chosen = [resolve_target(symbols, f"{SNIPPET_MODULE}:{wanted}")]
        else:
            chosen = [s for s in symbols if not s.name.startswith("_") or s.name == "__init__"]
        targets = [
            _target_info(s, nodes[s.qualname], executable_lines(nodes[s.qualname])) for s in chosen
        ]
        return Plan(
            targets=targets,
            notes=[f"pasted source is tested as module {SNIPPET_MODULE!r}"],
            support_files={f"{SNIPPET_MODULE}.py": request.source},
        )
    if not request.target:
        raise GenerationInputError(
            "mode 'function' needs `target` ('pkg.module:function', 'pkg.module:Class.method' "
            "or a whole module 'pkg.module') or `source`",
            field="target",
        )
    symbols = all_symbols(project_dir)
    module = request.target.strip().rstrip(":")
    if ":" not in module and module in {s.module for s in symbols}:
        return _plan_module(project_dir, [s for s in symbols if s.module == module])
    sym = resolve_target(symbols, request.target)
    node = _nodes(_parse_file(project_dir, sym.file))[sym.qualname]
    return Plan(targets=[_target_info(sym, node, executable_lines(node))])


def is_public(sym: Symbol) -> bool:
    return not any(part.startswith("_") for part in sym.qualname.split("."))


def _plan_module(project_dir: Path, symbols: list[Symbol]) -> Plan:
    """A whole module as the target: every public function and public method."""
    chosen = [s for s in symbols if is_public(s)]
    if not chosen:
        raise GenerationInputError(
            f"module {symbols[0].module} has no public function or method", field="target"
        )
    nodes = _nodes(_parse_file(project_dir, chosen[0].file))
    targets = [
        _target_info(s, nodes[s.qualname], executable_lines(nodes[s.qualname])) for s in chosen
    ]
    return Plan(targets=[t for t in targets if t.lines])


def targets_from_changes(
    project_dir: Path, changes: list[FileChange]
) -> tuple[list[TargetInfo], list[str]]:
    """Map changed lines to the functions whose spans they touch (post-image tree)."""
    targets: list[TargetInfo] = []
    notes: list[str] = []
    for change in changes:
        if change.deleted:
            notes.append(f"skipped {change.path}: the diff deletes the file")
            continue
        tree = _parse_file(project_dir, change.path)
        nodes = _nodes(tree)
        symbols = module_symbols(project_dir, project_dir / change.path, tree)
        outside = set(change.changed_lines)
        present = {s.name for s in symbols}
        for name in sorted(change.removed_defs - present):
            notes.append(f"skipped deleted function {name} in {change.path}")
        for sym in symbols:
            touched = {n for n in change.changed_lines if sym.line_start <= n <= sym.line_end}
            if not touched:
                continue
            outside -= touched
            # a method inside a touched nested class is reported once, by its own span
            lines = target_lines_for(nodes[sym.qualname], touched)
            if not lines:
                notes.append(f"{sym.qualified}: only its docstring/comments changed, not targeted")
                continue
            targets.append(_target_info(sym, nodes[sym.qualname], lines))
        if outside:
            shown = ", ".join(str(n) for n in sorted(outside)[:10])
            notes.append(
                f"{change.path}: changes outside functions (lines {shown}) are not targeted"
            )
    return targets, notes


def plan_diff(request: GenerationRequest, project_dir: Path, *, write: bool) -> Plan:
    parsed = parse_diff(request.diff, request.repository_prefix)
    changes = apply_to_tree(parsed, project_dir, write=write)
    if not write:
        return Plan(targets=[], notes=list(parsed.notes), parsed_diff=parsed)
    targets, notes = targets_from_changes(project_dir, changes)
    return Plan(targets=targets, notes=parsed.notes + notes, parsed_diff=parsed)


def validate_request(request: GenerationRequest, project_dir: Path) -> None:
    """Cheap, synchronous input checks; raises GenerationInputError (-> HTTP 422).

    Does not write anything: a diff is only checked to apply, targets are resolved.
    """
    if request.mode not in ("diff", "function"):
        raise GenerationInputError("mode must be 'diff' or 'function'", field="mode")
    if request.engine not in ("builtin", "llm"):
        raise GenerationInputError("engine must be 'builtin' or 'llm'", field="engine")
    if not 1 <= request.max_tests <= 500:
        raise GenerationInputError("max_tests must be between 1 and 500", field="max_tests")
    if request.mode == "diff":
        plan_diff(request, Path(project_dir), write=False)
    else:
        plan_function(request, Path(project_dir))
