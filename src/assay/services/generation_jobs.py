"""Running generations in the server: validated up front, generated in the background.

The API answers 202 at once; a background task leases the project's environment,
runs the generation core (which executes every probe and candidate in the sandbox),
streams progress as events, saves the candidates, turns accepted ones into test
cases (origin `ai`) and, with `auto_execute`, queues a plan that runs them.

A generation is not durable the way a plan is: one that was running when its
server stopped is marked `error` ("interrupted") on the next start, never left
"running" forever.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from assay.config import Settings
from assay.contracts import events as ev
from assay.contracts.events import PAYLOAD
from assay.db.base import affected, utcnow
from assay.db.engine import Database
from assay.db.models import (
    Generation,
    GenerationCandidate,
    Origin,
    Priority,
    Project,
    TestCase,
    Trigger,
)
from assay.environments import EnvironmentBuildError, EnvironmentPool
from assay.environments.install import ensure_installed
from assay.events import store as events
from assay.generation.llm.config import LLMConfig
from assay.generation.model import GenerationRequest, GenerationResult
from assay.generation.service import generate
from assay.orchestrator.owner import owner_is_dead, process_owner
from assay.runner.pytest_cmd import environment_root
from assay.services.plan_names import fit, tests_name
from assay.services.plans import create_plan
from assay.services.preparation import prepared, sandbox_limits
from assay.services.test_cases import new_test_case

log = logging.getLogger("assay.generation")

ACTIVE = ("queued", "running")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5"}


def llm_config(s: Settings) -> LLMConfig | None:
    if not (s.llm_base_url or s.llm_api_key or s.llm_model):
        return None
    return LLMConfig(
        provider=s.llm_provider,
        model=s.llm_model
        or ("claude-sonnet-4-5" if s.llm_provider == "anthropic" else "gpt-4o-mini"),
        base_url=s.llm_base_url,
        api_key=s.llm_api_key,
        timeout_s=s.llm_timeout_seconds,
    )


def embed_support_files(code: str, support_files: dict[str, str]) -> str:
    """Make a test of pasted source self-contained: it carries the source it tests.

    The pasted code is not a file of the project, so the saved test registers it as
    a module before importing from it.
    """
    if not support_files:
        return code
    lines = ["import sys as _sys", "import types as _types", ""]
    for filename, text in support_files.items():
        module = filename.removesuffix(".py").replace("/", ".")
        lines += [
            f"# The pasted source under test, as module {module!r}.",
            f"_SOURCE_{module.replace('.', '_').upper()} = {text!r}",
            f"_module = _types.ModuleType({module!r})",
            f"exec(compile(_SOURCE_{module.replace('.', '_').upper()}, {filename!r}, 'exec'),"
            " _module.__dict__)",
            f"_sys.modules[{module!r}] = _module",
            "",
        ]
    return "\n".join(lines) + "\n" + code


def recover_interrupted(session: Session) -> int:
    """Generations whose server process is gone are errors, not eternal spinners."""
    owners = set(
        session.scalars(select(Generation.owner).where(Generation.status.in_(ACTIVE)).distinct())
    )
    dead = [o for o in owners if o is None or owner_is_dead(o)]
    if not dead:
        return 0
    cond: ColumnElement[bool] = Generation.owner.in_([o for o in dead if o])
    if None in dead:
        cond = or_(cond, Generation.owner.is_(None))
    return affected(
        session,
        update(Generation)
        .where(Generation.status.in_(ACTIVE), cond)
        .values(
            status="error",
            error="interrupted: the server stopped during the generation",
            finished_at=utcnow(),
        )
        .execution_options(synchronize_session=False),
    )


class GenerationJobs:
    """The background generations of one server process."""

    def __init__(self, settings: Settings, db: Database, pool: EnvironmentPool,
                 concurrency: int = 1) -> None:
        self.settings = settings
        self.db = db
        self.pool = pool
        self.owner = process_owner()
        self.slots = asyncio.Semaphore(concurrency)
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, generation_id: str) -> None:
        task = asyncio.create_task(self._run(generation_id), name=f"assay-gen-{generation_id}")
        self.tasks[generation_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(generation_id, None))

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()), timeout=10)

    async def _write(self, fn: Any) -> Any:
        def work() -> Any:
            with self.db.session() as session:
                return fn(session)

        return await asyncio.to_thread(work)

    async def _run(self, generation_id: str) -> None:
        async with self.slots:
            try:
                await self._generate(generation_id)
            except asyncio.CancelledError:
                await self._write(lambda s: _fail(s, generation_id, "cancelled: server stopping"))
                raise
            except EnvironmentBuildError as build_error:
                reason = f"building the project's environment failed:\n{build_error.log_tail}"
                await self._write(lambda s: _fail(s, generation_id, reason))
            except Exception as exc:
                log.exception("generation %s failed", generation_id)
                message = f"{type(exc).__name__}: {exc}"
                await self._write(lambda s: _fail(s, generation_id, message))

    async def _generate(self, generation_id: str) -> None:
        settings = self.settings
        gen = await self._write(lambda s: _mark_running(s, generation_id, self.owner))
        request = GenerationRequest(
            mode=gen["request"]["mode"],
            diff=gen["request"].get("diff"),
            target=gen["request"].get("target"),
            source=gen["request"].get("source"),
            engine=gen["request"].get("engine", "builtin"),
            max_tests=gen["request"].get("max_tests", 20),
            repository_prefix=gen["request"].get("repository_prefix"),
        )

        async def progress(event: dict[str, Any]) -> None:
            # The core reports plain dicts; each must be one of the contract's
            # generation events, checked here before it is recorded.
            payload = PAYLOAD.validate_python({**event, "generation_id": generation_id})
            await self._write(
                lambda s: events.append(s, payload, project_id=gen["project_id"])
            )

        limits = sandbox_limits(settings, settings.generation_run_timeout_seconds)
        async with prepared(gen["source"], gen["project_settings"], settings,
                            self.pool) as ready:
            snap, env = ready.snapshot, ready.env
            installed = None
            if ready.install_dir is not None:
                installed = await ensure_installed(
                    ready.install_dir, snap.path, env.python,
                    settings.workspaces_dir, limits, settings.sandbox,
                    environment_root(env.python))
            result = await generate(
                request,
                installed=installed,
                project_dir=snap.path,
                python=env.python,
                workspaces_dir=settings.workspaces_dir,
                limits=limits,
                isolation=settings.sandbox,
                existing_tests=gen["existing_tests"],
                llm=llm_config(settings),
                on_progress=progress,
            )
        await self._write(lambda s: _save(s, generation_id, result, gen["auto_execute"]))


def _mark_running(session: Session, generation_id: str, owner: str) -> dict[str, Any]:
    gen = session.get(Generation, generation_id)
    assert gen is not None
    gen.status, gen.owner = "running", owner
    project = gen.project_id
    # Each existing test's code, and how a duplicate of it is named ("test case 'title'").
    existing: dict[str, str] = {}
    for code, title in session.execute(
        select(TestCase.code, TestCase.title).where(
            TestCase.project_id == project, TestCase.code.is_not(None)
        )
    ):
        if code:
            existing.setdefault(code, f"test case {title!r}")
    source = session.get(Project, project)
    assert source is not None
    events.append(
        session,
        ev.GenerationStarted(generation_id=gen.id, mode=gen.mode, engine=gen.engine),
        project_id=project,
    )
    return {
        "request": dict(gen.request),
        "project_id": project,
        "source": dict(source.source),
        "project_settings": dict(source.settings or {}),
        "existing_tests": existing,
        "auto_execute": bool(gen.request.get("auto_execute", True)),
    }


def _fail(session: Session, generation_id: str, message: str) -> None:
    gen = session.get(Generation, generation_id)
    if gen is None or gen.status not in ACTIVE:
        return
    gen.status, gen.error, gen.finished_at = "error", message, utcnow()
    events.append(
        session,
        ev.GenerationFinished(generation_id=gen.id, status=gen.status, error=message),
        project_id=gen.project_id,
    )


def _save(
    session: Session, generation_id: str, result: GenerationResult, auto_execute: bool
) -> None:
    gen = session.get(Generation, generation_id)
    assert gen is not None
    gen.targets = [t.to_dict() for t in result.targets]
    gen.notes = list(result.notes) + [f"error: {e}" for e in result.errors]
    gen.coverage = result.coverage
    accepted_cases: list[TestCase] = []
    for i, cand in enumerate(result.candidates):
        row = GenerationCandidate(
            position=i,
            target=cand.target,
            name=cand.name,
            code=cand.code,
            verdict=cand.verdict,
            runs_passed=cand.runs_passed,
            runs_total=cand.runs_total,
            target_lines_covered=list(cand.target_lines_covered),
            new_lines_covered=list(cand.new_lines_covered),
            failure=cand.failure,
        )
        if cand.verdict == "accepted":
            case = new_test_case(
                session,
                project_id=gen.project_id,
                title=cand.name,
                description=f"Generated by the {gen.engine} engine for {cand.target} "
                f"(covers lines {_ranges(cand.target_lines_covered)}).",
                code=embed_support_files(cand.code, result.support_files),
                priority=Priority.medium,
                tags=["ai", gen.engine],
                origin=Origin.ai.value,
                target=cand.target if ":" in cand.target else None,
                generation_id=gen.id,
                created_by=gen.created_by,
            )
            session.flush()
            row.test_case_id = case.id
            accepted_cases.append(case)
        gen.candidates.append(row)
    if accepted_cases and auto_execute:
        plan = create_plan(
            session,
            project_id=gen.project_id,
            cases=accepted_cases,
            priority=Priority.medium,
            name=fit(f"generation {gen.id[:8]} ({gen.mode}): " + tests_name(accepted_cases)),
            trigger=Trigger.generation,
            created_by=gen.created_by,
        )
        gen.plan_id = plan.id
    gen.status = "finished"
    gen.error = "; ".join(result.errors)[:4000] or None
    gen.finished_at = utcnow()
    events.append(
        session,
        ev.GenerationFinished(
            generation_id=gen.id,
            status=gen.status,
            accepted=len(accepted_cases),
            candidates=len(result.candidates),
            plan_id=gen.plan_id,
        ),
        project_id=gen.project_id,
    )


def _ranges(lines: list[int]) -> str:
    if not lines:
        return "none"
    ordered = sorted(lines)
    spans: list[list[int]] = [[ordered[0], ordered[0]]]
    for n in ordered[1:]:
        if n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
