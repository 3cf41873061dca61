"""Recording what the runner reports: idempotent, so a redelivered result counts once."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from assay.contracts import events as ev
from assay.contracts.jobs import NodeResult
from assay.db.base import Base, affected, utcnow
from assay.db.models import ExecutionPlan, PlanStatus, RunStatus, TestRun
from assay.events import store as events


class PlanRef(Protocol):
    """What result writers need of a plan (an ORM row or a plain record)."""

    @property
    def id(self) -> str: ...

    @property
    def project_id(self) -> str: ...


RUNS = Base.metadata.tables[TestRun.__tablename__]
"""Results are written with Core updates on the table: the ORM's bulk-update path cost
more than the statement itself, twice per test."""
FINAL_RUN = {RunStatus.passed, RunStatus.failed, RunStatus.error, RunStatus.skipped}


def run_started(session: Session, plan: PlanRef, run_id: str, attempt: int) -> bool:
    now = utcnow()
    won = affected(
        session,
        update(RUNS)
        .where(
            RUNS.c.id == run_id,
            RUNS.c.attempt == attempt,
            RUNS.c.status == RunStatus.queued.value,
        )
        .values(status=RunStatus.running.value, started_at=now)
    )
    if won:
        events.append(
            session,
            ev.TestStarted(run_id=run_id, started_at=now.isoformat()),
            plan_id=plan.id,
            project_id=plan.project_id,
        )
    return bool(won)


def run_finished(
    session: Session,
    plan: PlanRef,
    run_id: str,
    attempt: int,
    *,
    outcome: str,
    duration_s: float | None,
    failure: str | None,
    output: str | None,
    isolation: str | None,
    details: list[NodeResult] | None = None,
    start: str | None = None,
) -> bool:
    """Record a final result once: only a run still active in this attempt accepts it."""
    status = RunStatus(outcome)
    if status not in FINAL_RUN:
        raise ValueError(f"not a final outcome: {outcome}")
    won = affected(
        session,
        update(RUNS)
        .where(
            RUNS.c.id == run_id,
            RUNS.c.attempt == attempt,
            RUNS.c.status.in_([RunStatus.queued.value, RunStatus.running.value]),
        )
        .values(
            status=status.value,
            duration_s=duration_s,
            failure=failure,
            output=output,
            isolation=isolation,
            start=start,
            details=details,
            finished_at=utcnow(),
        )
    )
    if won:
        events.append(
            session,
            ev.TestFinished(
                run_id=run_id,
                status=status.value,
                duration_s=duration_s,
                failure=(failure or "")[:2000] or None,
            ),
            plan_id=plan.id,
            project_id=plan.project_id,
        )
    return bool(won)


def plan_counts(session: Session, plan_id: str) -> dict[str, int]:
    return plans_counts(session, [plan_id])[plan_id]


def plans_counts(session: Session, plan_ids: list[str]) -> dict[str, dict[str, int]]:
    """Runs per status for each plan, in one grouped query (a list page asks for 200)."""
    counts = {pid: dict.fromkeys([s.value for s in RunStatus], 0) for pid in plan_ids}
    if not plan_ids:
        return counts
    for plan_id, status, n in session.execute(
        select(TestRun.plan_id, TestRun.status, func.count())
        .where(TestRun.plan_id.in_(plan_ids))
        .group_by(TestRun.plan_id, TestRun.status)
    ):
        counts[plan_id][status] = n
    return counts


def verdict(counts: dict[str, int]) -> PlanStatus:
    if counts["failed"]:
        return PlanStatus.failed
    if counts["error"]:
        return PlanStatus.error
    if counts["cancelled"] and not (counts["passed"] or counts["skipped"]):
        return PlanStatus.cancelled
    return PlanStatus.passed


def finish_plan(session: Session, plan_id: str, owner: str, error: str | None = None) -> str | None:
    """Close a running plan this owner holds; runs left unreported are errors."""
    plan = session.get(ExecutionPlan, plan_id, populate_existing=True)
    if plan is None or plan.status != PlanStatus.running.value or plan.lease_owner != owner:
        return None
    reason = error or "the runner did not report this test"
    session.execute(
        update(TestRun)
        .where(
            TestRun.plan_id == plan_id,
            TestRun.status.in_([RunStatus.queued.value, RunStatus.running.value]),
        )
        .values(status=RunStatus.error.value, failure=reason, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    counts = plan_counts(session, plan_id)
    status = PlanStatus.error if error else verdict(counts)
    plan.status = status.value
    plan.error = error
    plan.finished_at = utcnow()
    plan.lease_owner = plan.lease_expires_at = None
    events.append(
        session,
        ev.PlanFinished(status=plan.status, counts=counts, error=error),
        plan_id=plan.id,
        project_id=plan.project_id,
    )
    return plan.status
