"""Running one claimed plan: snapshot the source, lease an environment, run its jobs."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.db.base import utcnow
from assay.db.models import ExecutionPlan, Project, RunStatus, TestCase, TestRun
from assay.environments import EnvironmentBuildError
from assay.orchestrator import results
from assay.orchestrator.batching import job_wall_seconds, largest_first, plan_batches
from assay.orchestrator.executor import JobSpec
from assay.orchestrator.recorder import PlanRecorder
from assay.runner import ItemFinished, ItemStarted, JobItem
from assay.services.preparation import sandbox_limits
from assay.services.source import SourceSnapshot, snapshot_source

if TYPE_CHECKING:
    from assay.orchestrator.core import Orchestrator

log = logging.getLogger("assay.orchestrator")


@dataclass
class RunItem:
    run_id: str
    attempt: int
    kind: str
    code: str | None
    nodeid: str | None


@dataclass
class PlanWork:
    plan_id: str
    project_id: str
    source: dict[str, Any]
    created_at: datetime
    priority_rank: int
    attempt: int
    items: list[RunItem]
    project_settings: dict[str, Any] = field(default_factory=dict)


def load_work(session: Session, plan_id: str) -> PlanWork:
    plan = session.get(ExecutionPlan, plan_id)
    assert plan is not None
    project = session.get(Project, plan.project_id)
    assert project is not None
    rows = session.execute(
        select(TestRun.id, TestRun.attempt, TestCase.code, TestCase.reference)
        .join(TestCase, TestCase.id == TestRun.test_case_id, isouter=True)
        .where(TestRun.plan_id == plan_id, TestRun.status == RunStatus.queued.value)
        .order_by(TestRun.position)
    ).all()
    items = [
        RunItem(run_id, attempt, "code" if code is not None else "reference", code, ref)
        for run_id, attempt, code, ref in rows
    ]
    return PlanWork(
        plan.id,
        plan.project_id,
        dict(project.source),
        plan.created_at,
        plan.priority_rank,
        plan.attempts,
        items,
        dict(project.settings or {}),
    )


class PlanExecution:
    """The life of one claimed plan inside this orchestrator."""

    def __init__(self, orch: Orchestrator, plan_id: str) -> None:
        self.orch = orch
        self.plan_id = plan_id
        self.cancel = asyncio.Event()
        self.recorder: PlanRecorder | None = None

    async def run(self) -> None:
        orch = self.orch
        error: str | None = None
        noted: asyncio.Task[Any] | None = None
        try:
            work = await orch.read(lambda s: load_work(s, self.plan_id), readonly=True)
            self.recorder = recorder = PlanRecorder(
                orch.writer, _PlanRef(self.plan_id, work.project_id))
            settings = orch.settings
            snap = await asyncio.to_thread(snapshot_source, work.source, settings,
                                           work.project_settings)
            # Written beside the first job's start, not before it: the writer keeps the
            # order, so the plan has its snapshot and start time before any run result.
            noted = asyncio.create_task(
                orch.writer.submit(lambda s: _set_snapshot(s, self.plan_id, snap.digest)))
            batches = plan_batches(work.items, orch.executor.slots, settings.batch_size)
            await asyncio.gather(*(self._run_batch(work, n, batches[n], snap, recorder)
                                   for n in largest_first(batches)))
            await noted
        except EnvironmentBuildError as exc:
            error = f"building the project's environment failed:\n{exc.log_tail}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("plan %s failed before its tests could run", self.plan_id)
            error = f"{type(exc).__name__}: {exc}"
        if noted is not None:
            await asyncio.gather(noted, return_exceptions=True)  # its error is told above
        if self.recorder is not None:
            await self.recorder.drain()
        if error and orch.stopping:
            # The failure may be the shutdown itself (an installer killed by the signal):
            # leave the plan to be handed back to the queue, not errored.
            return
        if not self.cancel.is_set():
            await orch.writer.submit(
                lambda s: results.finish_plan(s, self.plan_id, orch.owner, error)
            )

    async def _run_batch(
        self,
        work: PlanWork,
        n: int,
        items: list[RunItem],
        snap: SourceSnapshot,
        recorder: PlanRecorder,
    ) -> None:
        orch = self.orch
        settings = orch.settings
        attempts = {i.run_id: i.attempt for i in items}
        spec = JobSpec(
            job_id=f"{self.plan_id}-{work.attempt}-{n}",
            plan_id=self.plan_id,
            priority_rank=work.priority_rank,
            items=[JobItem(key=i.run_id, kind=i.kind, code=i.code, nodeid=i.nodeid) for i in items],
            snapshot_hash=snap.digest,
            snapshot_dir=snap.path,
            env_spec=snap.env_spec,
            test_env=dict(snap.settings.env),
            pytest_args=list(snap.settings.pytest_args),
            limits=sandbox_limits(settings, job_wall_seconds(
                settings.job_timeout_seconds, len(items), settings.batch_size)),
            test_timeout_s=settings.test_timeout_seconds,
            isolation=settings.sandbox,
        )

        async def on_event(ev: ItemStarted | ItemFinished) -> None:
            attempt = attempts.get(ev.key)
            if attempt is None:
                return
            if isinstance(ev, ItemStarted):
                recorder.add(results.RunStarted(ev.key, attempt))
            else:
                recorder.add(results.RunFinished(
                    ev.key, attempt, ev.outcome, ev.duration_s, ev.failure, ev.output,
                    orch.isolation, ev.tests, ev.start))

        async with orch.job_slots:
            if self.cancel.is_set():
                return
            with orch.running_job(work.created_at):
                outcome = await orch.executor.run(spec, on_event, self.cancel)
        log.info(
            "job %s done: exit=%s timed_out=%s isolation=%s start=%s%s",
            spec.job_id,
            outcome.exit_code,
            outcome.timed_out,
            outcome.isolation,
            outcome.start,
            f" ({outcome.start_note})" if outcome.start == "cold" and outcome.start_note else "",
        )


@dataclass
class _PlanRef:
    """The two fields result writers need, without holding an ORM object across threads."""

    id: str
    project_id: str


def _set_snapshot(session: Session, plan_id: str, digest: str) -> None:
    plan = session.get(ExecutionPlan, plan_id)
    if plan is not None and plan.snapshot_hash != digest:
        plan.snapshot_hash = digest
        plan.started_at = plan.started_at or utcnow()
