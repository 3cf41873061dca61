"""Entry point for the API layer: validate a request, generate, report verdicts as they land.

`validate_request` is synchronous and cheap (the API calls it to answer 422 before any
slow work); `generate` does the slow part: copy the project to a scratch workspace,
apply the diff if needed, run an engine, validate candidates in the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assay.environments.install import InstalledProject
from assay.generation import builtin
from assay.generation.errors import GenerationInputError
from assay.generation.llm.config import LLMConfig
from assay.generation.llm.engine import run_llm
from assay.generation.model import Candidate, GenerationRequest, GenerationResult, TargetInfo
from assay.generation.symbols import Symbol, import_root, list_symbols
from assay.generation.targets import Plan, plan_diff, plan_function, validate_request
from assay.generation.validation import Ledger, validate
from assay.generation.workspace import SandboxRunner, create_workspace, remove_workspace
from assay.runner.workspace import install_site
from assay.sandbox import Limits

__all__ = [
    "Candidate",
    "GenerationInputError",
    "GenerationRequest",
    "GenerationResult",
    "LLMConfig",
    "Symbol",
    "TargetInfo",
    "generate",
    "list_symbols",
    "validate_request",
]

OnProgress = Callable[[dict[str, Any]], Awaitable[None]]


async def _noop(event: dict[str, Any]) -> None:
    return None


SITE_BOOT = ".assay_site"
"""Where an installed project's site files and their sitecustomize go in the workspace."""


def _pythonpath(workspace: Path, targets: list[TargetInfo]) -> tuple[str, ...]:
    roots = ["."]
    for t in targets:
        root = import_root(workspace, workspace / t.file).relative_to(workspace).as_posix()
        if root not in roots:
            roots.append(root)
    return tuple(roots)


def _coverage_summary(
    targets: list[TargetInfo], candidates: list[Candidate]
) -> dict[str, dict[str, object]]:
    summary: dict[str, dict[str, object]] = {}
    for t in targets:
        covered: set[int] = set()
        for c in candidates:
            if c.verdict == "accepted":
                covered |= set(c.target_lines_covered) if c.target == t.name else set()
        summary[t.name] = {
            "lines_total": len(t.lines),
            "lines_covered": len(covered & set(t.lines)),
            "lines": list(t.lines),
            "covered": sorted(covered & set(t.lines)),
            "missing": sorted(set(t.lines) - covered),
        }
    return summary


def _plan(request: GenerationRequest, workspace: Path) -> Plan:
    if request.mode == "diff":
        return plan_diff(request, workspace, write=True)
    plan = plan_function(request, workspace)
    for name, text in plan.support_files.items():
        (workspace / name).write_text(text, encoding="utf-8")
    return plan


async def generate(
    request: GenerationRequest,
    *,
    project_dir: Path,
    python: Path,
    workspaces_dir: Path,
    limits: Limits,
    isolation: str = "auto",
    existing_tests: Sequence[str] | Mapping[str, str] = (),
    llm: LLMConfig | None = None,
    on_progress: OnProgress | None = None,
    cancel: asyncio.Event | None = None,
    keep_workspace: bool = False,
    installed: InstalledProject | None = None,
) -> GenerationResult:
    """Generate and validate tests; raises only GenerationInputError (bad request).

    Everything else that goes wrong (sandbox, provider) is in `result.errors`. With
    `installed`, the project's built tree is what is probed and tested, with its
    site files (metadata, entry points) in place, as in its plans.
    """
    emit = on_progress or _noop
    validate_request(request, Path(project_dir))
    if request.engine == "llm" and llm is None:
        raise GenerationInputError("engine 'llm' needs an LLM configuration", field="engine")
    source_dir = installed.tree if installed is not None else Path(project_dir)
    workspace = await asyncio.to_thread(create_workspace, source_dir, Path(workspaces_dir))
    boot: tuple[str, ...] = ()
    if installed is not None:
        await asyncio.to_thread(install_site, installed, workspace / SITE_BOOT, workspace)
        boot = (SITE_BOOT,)
    result = GenerationResult(targets=[], candidates=[])
    try:
        plan = _plan(request, workspace)
        result.targets, result.notes, result.support_files = (
            plan.targets,
            list(plan.notes),
            plan.support_files,
        )
        await emit(
            {
                "type": "generation.targets",
                "targets": [t.to_dict() for t in plan.targets],
                "notes": list(plan.notes),
            }
        )
        if not plan.targets:
            result.notes.append("no function or method is touched by the change: nothing to test")
            return result
        runner = SandboxRunner(
            workspace=workspace,
            python=Path(python),
            limits=limits,
            isolation=isolation,
            pythonpath=(*boot, *_pythonpath(workspace, plan.targets)),
            cancel=cancel,
        )
        ledger = Ledger()
        ledger.add_existing(existing_tests)

        async def announce(cands: list[Candidate]) -> None:
            for c in cands:
                await emit({"type": "generation.candidate", "candidate": c.to_dict()})

        try:
            if request.engine == "llm" and llm is not None:
                await emit({"type": "generation.phase", "phase": "asking_model"})
                outcome = await run_llm(
                    plan.targets,
                    runner,
                    ledger,
                    llm,
                    diff=request.diff,
                    existing_tests=list(existing_tests),
                    on_candidates=announce,
                )
                result.candidates, result.errors = outcome.candidates, outcome.errors
            else:
                await emit({"type": "generation.phase", "phase": "observing"})
                proposal = await builtin.propose(plan.targets, runner, request.max_tests)
                result.notes += proposal.notes
                result.errors += proposal.errors
                await emit(
                    {
                        "type": "generation.phase",
                        "phase": "validating",
                        "candidates": len(proposal.submissions),
                    }
                )
                result.candidates = await validate(proposal.submissions, runner, ledger)
                await announce(result.candidates)
        except GenerationInputError:
            raise
        except Exception as exc:  # sandbox misconfiguration, unreadable interpreter, ...
            result.errors.append(f"generation failed: {type(exc).__name__}: {exc}")
        for err in result.errors:
            await emit({"type": "generation.error", "message": err})
        result.notes += runner.notes
        if cancel is not None and cancel.is_set():
            result.notes.append("cancelled")
        result.coverage = _coverage_summary(plan.targets, result.candidates)
        return result
    finally:
        if not keep_workspace:
            await asyncio.to_thread(remove_workspace, workspace)
