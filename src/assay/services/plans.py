"""Creating, cancelling and re-running execution plans (durable on return)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assay.contracts import events as ev
from assay.db.base import affected, utcnow
from assay.db.models import (
    ExecutionPlan,
    PlanStatus,
    Priority,
    RunStatus,
    TestCase,
    TestRun,
    Trigger,
)
from assay.errors import InvalidInput
from assay.events import store as events


class PlanError(InvalidInput, ValueError):
    """Input a person must fix (the API answers 422 naming `field`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def run_name(case: TestCase) -> str:
    return case.reference or case.title


def create_plan(
    session: Session,
    *,
    project_id: str,
    cases: Sequence[TestCase],
    priority: Priority,
    name: str = "",
    trigger: Trigger = Trigger.api,
    created_by: str | None = None,
    source_plan_id: str | None = None,
) -> ExecutionPlan:
    """Write a queued plan with one run per test case, and its `plan.queued` event.

    All in the caller's transaction: the plan exists exactly when the API answers 201,
    and the event that wakes the orchestrator is published only after the commit.
    """
    if not cases:
        raise PlanError("test_case_ids", "the plan has no test case to run")
    plan = ExecutionPlan(
        project_id=project_id,
        name=name or f"{len(cases)} test(s)",
        priority=priority.value,
        priority_rank=priority.rank,
        trigger=trigger.value,
        created_by=created_by,
        created_at=utcnow(),
        source_plan_id=source_plan_id,
    )
    plan.runs = [
        TestRun(test_case_id=c.id, position=i, name=run_name(c)) for i, c in enumerate(cases)
    ]
    session.add(plan)
    session.flush()
    events.append(
        session,
        ev.PlanQueued(
            status=plan.status,
            priority=plan.priority,
            name=plan.name,
            total=len(cases),
            trigger=plan.trigger,
        ),
        plan_id=plan.id,
        project_id=project_id,
    )
    return plan


def cases_by_ids(session: Session, project_id: str, ids: Sequence[str]) -> list[TestCase]:
    """The test cases in the order asked; unknown ids or another project's are an error."""
    unique = list(dict.fromkeys(ids))
    found = {c.id: c for c in session.scalars(select(TestCase).where(TestCase.id.in_(unique)))}
    missing = [i for i in unique if i not in found or found[i].project_id != project_id]
    if missing:
        raise PlanError(
            "test_case_ids",
            f"not test cases of this project: {', '.join(missing[:10])}"
            + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""),
        )
    return [found[i] for i in unique]


def cancel_plan(session: Session, plan: ExecutionPlan) -> bool:
    """Cancel a queued or running plan; False when it had already finished.

    The conditional update wins against a concurrent finish; the `plan.cancelled`
    event tells the orchestrator running it to kill the job's processes.
    """
    won = affected(
        session,
        update(ExecutionPlan)
        .where(
            ExecutionPlan.id == plan.id,
            ExecutionPlan.status.in_([PlanStatus.queued.value, PlanStatus.running.value]),
        )
        .values(
            status=PlanStatus.cancelled.value,
            finished_at=utcnow(),
            lease_owner=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if not won:
        return False
    session.execute(
        update(TestRun)
        .where(
            TestRun.plan_id == plan.id,
            TestRun.status.in_([RunStatus.queued.value, RunStatus.running.value]),
        )
        .values(status=RunStatus.cancelled.value, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(plan)
    events.append(
        session,
        ev.PlanCancelled(status=plan.status),
        plan_id=plan.id,
        project_id=plan.project_id,
    )
    return True
