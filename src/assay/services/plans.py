"""Creating, cancelling and re-running execution plans (durable on return)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, String, cast, func, insert, literal, select, update
from sqlalchemy.orm import Session

from assay.contracts import events as ev
from assay.db.base import INSERT_CHUNK, Base, affected, id_prefix, new_id, utcnow
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
from assay.services.plan_names import fit, tests_name


class PlanError(InvalidInput, ValueError):
    """Input a person must fix (the API answers 422 naming `field`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


RUNS = Base.metadata.tables[TestRun.__tablename__]
"""Runs are written with Core statements on the table, not as ORM objects."""


class CaseRef(NamedTuple):
    """What a plan needs of a test case (three columns, not the whole row and its tags)."""

    id: str
    reference: str | None
    title: str


CASE_REF_COLUMNS = (TestCase.id, TestCase.reference, TestCase.title)


def run_name(case: TestCase | CaseRef) -> str:
    return case.reference or case.title


def create_plan(
    session: Session,
    *,
    project_id: str,
    cases: Sequence[TestCase | CaseRef],
    priority: Priority,
    name: str = "",
    trigger: Trigger = Trigger.api,
    created_by: str | None = None,
    source_plan_id: str | None = None,
) -> ExecutionPlan:
    """Write a queued plan with one run per test case, and its `plan.queued` event.

    All in the caller's transaction: the plan exists exactly when the API answers 201,
    and the event that wakes the orchestrator is published only after the commit. The
    runs are a bulk insert (`INSERT_CHUNK` rows a statement), never one ORM object per
    test, so the cost per test is a tuple, not a round trip; a failure part-way rolls
    the whole transaction back, plan and event included.
    """
    if not cases:
        raise PlanError("test_case_ids", "the plan has no test case to run")
    plan = _new_plan(
        session,
        project_id=project_id,
        name=fit(name) if name else tests_name(cases),
        priority=priority,
        trigger=trigger,
        created_by=created_by,
        source_plan_id=source_plan_id,
    )
    queued = RunStatus.queued.value
    rows = [
        {
            "id": new_id(),
            "plan_id": plan.id,
            "test_case_id": c.id,
            "position": i,
            "name": run_name(c),
            "status": queued,
            "attempt": 0,
        }
        for i, c in enumerate(cases)
    ]
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(RUNS), rows[start : start + INSERT_CHUNK])
    _queued(session, plan, len(rows))
    return plan


@dataclass(frozen=True)
class Selected:
    """Test cases chosen by a query (`stmt` selects from TestCase), in the order to run.

    A plan of a selection is written by the database itself (INSERT ... SELECT), so
    its cost does not pass through Python once per test.
    """

    stmt: Select[Any]
    order_by: tuple[Any, ...]
    field: str = "selection"
    empty: str = "the selection matches no test case of this project"


def selected_cases(stmt: Select[Any]) -> Selected:
    """The test cases `stmt` matches: priority, then age, then id (ties keep one order)."""
    return Selected(stmt, (TestCase.priority_rank, TestCase.created_at, TestCase.id))


def cases_of_plan(plan_id: str, statuses: Sequence[str] | None = None) -> Selected:
    """The test cases a plan ran (those that still exist), in its order: a rerun."""
    stmt = (
        select(TestCase)
        .join(TestRun, TestRun.test_case_id == TestCase.id)
        .where(TestRun.plan_id == plan_id)
    )
    if statuses:
        stmt = stmt.where(TestRun.status.in_(list(statuses)))
    return Selected(
        stmt,
        (TestRun.position, TestRun.id),
        field="failed_only",
        empty="no test case of this plan to run again" + (" (none failed)" if statuses else ""),
    )


def count_selected(session: Session, selected: Selected) -> int:
    """How many test cases a selection matches (one count, no rows read into Python)."""
    stmt = selected.stmt.with_only_columns(func.count(), maintain_column_froms=True)
    stmt = stmt.order_by(None)
    return int(session.scalar(stmt) or 0)


def _ordered_id(session: Session, position: ColumnElement[int]) -> ColumnElement[str]:
    """A fresh 32-hex-digit id per row, made by the database: `new_id`'s milliseconds,
    the row's position (8 digits) and 48 random bits, so a plan's runs are appended to
    the primary key's index in order, as `new_id`'s are."""
    prefix = literal(id_prefix(), String)
    if session.get_bind().dialect.name == "postgresql":
        random = func.substr(func.replace(cast(func.gen_random_uuid(), String), "-", ""), 1, 12)
        return prefix.concat(func.lpad(func.to_hex(position), 8, "0")).concat(random)
    return prefix.concat(func.printf("%08x", position)).concat(
        func.lower(func.hex(func.randomblob(6))))


def create_plan_selected(
    session: Session,
    *,
    project_id: str,
    selected: Selected,
    priority: Priority,
    name: str,
    trigger: Trigger = Trigger.api,
    created_by: str | None = None,
    source_plan_id: str | None = None,
) -> ExecutionPlan:
    """`create_plan` for the test cases a query selects: one INSERT ... SELECT of runs.

    The plan, its runs and its event are one transaction, as in `create_plan`; a
    selection that matches nothing (even because of a concurrent delete) is a
    PlanError naming `selected.field`, and the caller's rollback leaves nothing behind.
    """
    plan = _new_plan(
        session,
        project_id=project_id,
        name=fit(name),
        priority=priority,
        trigger=trigger,
        created_by=created_by,
        source_plan_id=source_plan_id,
    )
    position = func.row_number().over(order_by=selected.order_by) - 1
    rows = selected.stmt.with_only_columns(
        _ordered_id(session, position),
        literal(plan.id, String),
        TestCase.id,
        func.coalesce(func.nullif(TestCase.reference, ""), TestCase.title),
        position,
        literal(RunStatus.queued.value, String),
        literal(0),
        maintain_column_froms=True,
    ).order_by(None)
    written = affected(
        session,
        insert(RUNS).from_select(
            ["id", "plan_id", "test_case_id", "name", "position", "status", "attempt"], rows
        ).execution_options(preserve_rowcount=True),  # an INSERT's count, on every driver
    )
    if not written:
        raise PlanError(selected.field, selected.empty)
    _queued(session, plan, written)
    return plan


def _new_plan(
    session: Session,
    *,
    project_id: str,
    name: str,
    priority: Priority,
    trigger: Trigger,
    created_by: str | None,
    source_plan_id: str | None,
) -> ExecutionPlan:
    plan = ExecutionPlan(
        project_id=project_id,
        name=name,
        priority=priority.value,
        priority_rank=priority.rank,
        trigger=trigger.value,
        created_by=created_by,
        created_at=utcnow(),
        source_plan_id=source_plan_id,
    )
    session.add(plan)
    session.flush()
    return plan


def _queued(session: Session, plan: ExecutionPlan, total: int) -> None:
    """After its runs are written beside the ORM: the plan's `plan.queued` event."""
    session.expire(plan, ["runs"])  # whoever reads `plan.runs` loads what was written
    events.append(
        session,
        ev.PlanQueued(
            status=plan.status,
            priority=plan.priority,
            name=plan.name,
            total=total,
            trigger=plan.trigger,
        ),
        plan_id=plan.id,
        project_id=plan.project_id,
    )


def cases_by_ids(session: Session, project_id: str, ids: Sequence[str]) -> list[CaseRef]:
    """The test cases in the order asked; unknown ids or another project's are an error.

    One query for all of them (the API takes at most 10,000 ids).
    """
    unique = list(dict.fromkeys(ids))
    found = {
        row.id: CaseRef(row.id, row.reference, row.title)
        for row in session.execute(
            select(*CASE_REF_COLUMNS).where(
                TestCase.id.in_(unique), TestCase.project_id == project_id
            )
        )
    }
    missing = [i for i in unique if i not in found]
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
