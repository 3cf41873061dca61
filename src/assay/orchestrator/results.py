"""Recording what the runner reports: idempotent, so a redelivered result counts once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from assay.contracts import events as ev
from assay.contracts.jobs import NodeResult
from assay.db.base import Base, utcnow
from assay.db.models import ExecutionPlan, PlanStatus, RunStatus, TestRun
from assay.events import store as events


class PlanRef(Protocol):
    """What result writers need of a plan (an ORM row or a plain record)."""

    @property
    def id(self) -> str: ...

    @property
    def project_id(self) -> str: ...


RUNS = Base.metadata.tables[TestRun.__tablename__]
"""Results are written with Core statements on the table, built once: building an
UPDATE and an event INSERT per test cost more than executing them (about 1 ms a test,
twice what a trivial test costs in pytest)."""
FINAL_RUN = {RunStatus.passed, RunStatus.failed, RunStatus.error, RunStatus.skipped}
ACTIVE = (RunStatus.queued.value, RunStatus.running.value)
LOOKUP_CHUNK = 500
"""Run ids per `IN (...)` lookup (SQLite allows 32,766 bound values; stay well below)."""


@dataclass(frozen=True)
class RunStarted:
    """A run's test began, in attempt `attempt` of its plan."""

    run_id: str
    attempt: int


@dataclass(frozen=True)
class RunFinished:
    """A run's final result, in attempt `attempt` of its plan."""

    run_id: str
    attempt: int
    outcome: str
    duration_s: float | None
    failure: str | None
    output: str | None
    isolation: str | None
    details: list[NodeResult] | None = None
    start: str | None = None

    def __post_init__(self) -> None:
        if RunStatus(self.outcome) not in FINAL_RUN:
            raise ValueError(f"not a final outcome: {self.outcome}")


RunChange = RunStarted | RunFinished

_START = (
    update(RUNS)
    .where(RUNS.c.id == bindparam("b_id"))
    .values(status=RunStatus.running.value, started_at=bindparam("b_at"))
)
_FINISH = (
    update(RUNS)
    .where(RUNS.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), duration_s=bindparam("b_duration"),
            failure=bindparam("b_failure"), output=bindparam("b_output"),
            isolation=bindparam("b_isolation"), start=bindparam("b_start"),
            details=bindparam("b_details"), finished_at=bindparam("b_at"))
)


def record(session: Session, plan: PlanRef, changes: Sequence[RunChange]) -> list[bool]:
    """Apply a burst of one plan's run changes; whether each one took effect.

    Idempotent as one conditional update per change would be: a start counts only
    for a run still queued, a result only for a run still active, and either only in
    the attempt the run is in (a late result from an owner that lost the plan does
    not land). The runs are read first, under the write lock (SQLite's BEGIN
    IMMEDIATE) or locked (PostgreSQL's FOR UPDATE), then written with one
    executemany per kind, and the events are inserted in the order of `changes`.
    """
    state: dict[str, tuple[int, str]] = {}
    ids = list(dict.fromkeys(c.run_id for c in changes))
    for i in range(0, len(ids), LOOKUP_CHUNK):
        lookup = select(RUNS.c.id, RUNS.c.attempt, RUNS.c.status).where(
            RUNS.c.id.in_(ids[i : i + LOOKUP_CHUNK]))
        if session.get_bind().dialect.name == "postgresql":
            lookup = lookup.with_for_update()
        state.update({rid: (attempt, status) for rid, attempt, status in session.execute(lookup)})
    now = utcnow()
    starts: list[dict[str, Any]] = []
    finishes: list[dict[str, Any]] = []
    payloads: list[ev.EventPayload] = []
    won: list[bool] = []
    for change in changes:
        attempt, status = state.get(change.run_id, (-1, ""))
        if attempt != change.attempt:
            won.append(False)
        elif isinstance(change, RunStarted):
            won.append(status == RunStatus.queued.value)
            if won[-1]:
                state[change.run_id] = (attempt, RunStatus.running.value)
                starts.append({"b_id": change.run_id, "b_at": now})
                payloads.append(ev.TestStarted(run_id=change.run_id, started_at=now.isoformat()))
        else:
            won.append(status in ACTIVE)
            if won[-1]:
                state[change.run_id] = (attempt, change.outcome)
                finishes.append({
                    "b_id": change.run_id, "b_status": change.outcome,
                    "b_duration": change.duration_s, "b_failure": change.failure,
                    "b_output": change.output, "b_isolation": change.isolation,
                    "b_start": change.start, "b_details": change.details, "b_at": now})
                payloads.append(ev.TestFinished(
                    run_id=change.run_id, status=change.outcome, duration_s=change.duration_s,
                    failure=(change.failure or "")[:2000] or None))
    if starts:
        session.execute(_START, starts)
    if finishes:
        session.execute(_FINISH, finishes)
    events.append_many(session, payloads, plan_id=plan.id, project_id=plan.project_id)
    return won


def run_started(session: Session, plan: PlanRef, run_id: str, attempt: int) -> bool:
    return record(session, plan, [RunStarted(run_id, attempt)])[0]


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
    return record(session, plan, [RunFinished(
        run_id, attempt, outcome, duration_s, failure, output, isolation, details, start)])[0]


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
