"""The durable queue: claiming plans, leases, and recovery — all plain SQL on the store.

Every transition is a conditional UPDATE (`WHERE status = ...`), so two orchestrators
(or an orchestrator and a cancel request) can never both win the same change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from assay.contracts import events as ev
from assay.db.base import affected, utcnow
from assay.db.models import ExecutionPlan, PlanStatus, RunStatus, TestRun
from assay.events import store as events

ACTIVE_RUNS = (RunStatus.queued.value, RunStatus.running.value)


def claim_next(session: Session, owner: str, lease_seconds: float) -> ExecutionPlan | None:
    """Take the most urgent queued plan (priority, then age) and lease it to `owner`."""
    now = utcnow()
    pick = (
        select(ExecutionPlan.id)
        .where(ExecutionPlan.status == PlanStatus.queued.value)
        .order_by(ExecutionPlan.priority_rank, ExecutionPlan.created_at, ExecutionPlan.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Several servers dispatch at once: each skips rows another is claiming.
        pick = pick.with_for_update(skip_locked=True)
    plan_id = session.scalar(pick)
    if plan_id is None:
        return None
    won = affected(
        session,
        update(ExecutionPlan)
        .where(ExecutionPlan.id == plan_id, ExecutionPlan.status == PlanStatus.queued.value)
        .values(
            status=PlanStatus.running.value,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=ExecutionPlan.attempts + 1,
            started_at=func.coalesce(ExecutionPlan.started_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    if not won:
        return None
    plan = session.get(ExecutionPlan, plan_id, populate_existing=True)
    assert plan is not None
    events.append(
        session,
        ev.PlanStarted(status=plan.status, attempt=plan.attempts, owner=owner),
        plan_id=plan.id,
        project_id=plan.project_id,
    )
    return plan


def renew_leases(session: Session, owner: str, plan_ids: list[str], lease_seconds: float) -> int:
    if not plan_ids:
        return 0
    return affected(
        session,
        update(ExecutionPlan)
        .where(
            ExecutionPlan.id.in_(plan_ids),
            ExecutionPlan.lease_owner == owner,
            ExecutionPlan.status == PlanStatus.running.value,
        )
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )


def _requeue_or_fail(
    session: Session,
    plan: ExecutionPlan,
    reason: str,
    max_attempts: int,
    count_attempt: bool = True,
) -> str:
    """Put an interrupted plan back in the queue, or error it when out of attempts."""
    if count_attempt and plan.attempts >= max_attempts:
        plan.status = PlanStatus.error.value
        plan.error = f"{reason}; gave up after {plan.attempts} attempt(s)"
        plan.finished_at = utcnow()
        plan.lease_owner = plan.lease_expires_at = None
        session.execute(
            update(TestRun)
            .where(TestRun.plan_id == plan.id, TestRun.status.in_(ACTIVE_RUNS))
            .values(status=RunStatus.error.value, failure=plan.error, finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        events.append(
            session,
            ev.PlanFinished(status=plan.status, error=plan.error),
            plan_id=plan.id,
            project_id=plan.project_id,
        )
        return "errored"
    if not count_attempt:
        plan.attempts = max(plan.attempts - 1, 0)
    plan.status = PlanStatus.queued.value
    plan.lease_owner = plan.lease_expires_at = None
    # Runs that did not finish go back to the queue under a new attempt number, so a
    # late result from the old attempt can never be recorded over the new one.
    session.execute(
        update(TestRun)
        .where(TestRun.plan_id == plan.id, TestRun.status.in_(ACTIVE_RUNS))
        .values(status=RunStatus.queued.value, attempt=TestRun.attempt + 1, started_at=None)
        .execution_options(synchronize_session=False)
    )
    events.append(
        session,
        ev.PlanRequeued(status=plan.status, reason=reason),
        plan_id=plan.id,
        project_id=plan.project_id,
    )
    return "requeued"


def recover_expired(
    session: Session, max_attempts: int, dead_owners: set[str] | None = None
) -> list[dict[str, Any]]:
    """Plans whose lease ran out (or whose owner is known dead) are requeued or errored."""
    now = utcnow()
    stmt = select(ExecutionPlan).where(ExecutionPlan.status == PlanStatus.running.value)
    cond = ExecutionPlan.lease_expires_at < now
    if dead_owners:
        cond = cond | ExecutionPlan.lease_owner.in_(dead_owners)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    out = []
    for plan in session.scalars(stmt.where(cond)):
        reason = f"lease of {plan.lease_owner} expired (its server or worker stopped)"
        out.append(
            {"plan_id": plan.id, "action": _requeue_or_fail(session, plan, reason, max_attempts)}
        )
    return out


def release_owned(session: Session, owner: str, plan_ids: list[str]) -> int:
    """On a clean stop, hand unfinished plans back to the queue without using an attempt."""
    n = 0
    for plan in session.scalars(
        select(ExecutionPlan).where(
            ExecutionPlan.id.in_(plan_ids),
            ExecutionPlan.lease_owner == owner,
            ExecutionPlan.status == PlanStatus.running.value,
        )
    ):
        _requeue_or_fail(session, plan, "orchestrator stopped", 0, count_attempt=False)
        n += 1
    return n


@dataclass
class QueueDepth:
    queued_plans: int = 0
    running_plans: int = 0
    queued_tests: int = 0
    running_tests: int = 0


def depth(session: Session) -> QueueDepth:
    out = QueueDepth()
    for status, count in session.execute(
        select(ExecutionPlan.status, func.count())
        .where(ExecutionPlan.status.in_([PlanStatus.queued.value, PlanStatus.running.value]))
        .group_by(ExecutionPlan.status)
    ):
        setattr(out, f"{status}_plans", count)
    for status, count in session.execute(
        select(TestRun.status, func.count())
        .where(TestRun.status.in_(ACTIVE_RUNS))
        .group_by(TestRun.status)
    ):
        setattr(out, f"{status}_tests", count)
    return out
