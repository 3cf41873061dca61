"""The filters of the plans list: search, status, trigger, tag, and creation dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, or_
from sqlalchemy.orm import aliased

from assay.db.models import ExecutionPlan, TestCaseTag, TestRun


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filter_plans(
    stmt: Select[Any],
    *,
    q: str | None = None,
    triggers: Sequence[str] = (),
    tag: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
) -> Select[Any]:
    """`stmt` (selecting ExecutionPlan) narrowed to the plans matching every filter given.

    `q` is literal text found in the name (case-insensitive), or the start of the id;
    `tag`: plans running a test case with that tag; the dates are UTC days, both
    inclusive.
    """
    if q:
        needle = q.strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(ExecutionPlan.name).contains(needle, autoescape=True),
                ExecutionPlan.id.startswith(needle, autoescape=True),
            )
        )
    if triggers:
        stmt = stmt.where(ExecutionPlan.trigger.in_(list(triggers)))
    if tag:
        run = aliased(TestRun)
        stmt = stmt.where(
            exists().where(
                run.plan_id == ExecutionPlan.id,
                TestCaseTag.test_case_id == run.test_case_id,
                TestCaseTag.tag == tag,
            )
        )
    if created_from:
        stmt = stmt.where(ExecutionPlan.created_at >= day_start(created_from))
    if created_to and created_to < date.max:
        stmt = stmt.where(ExecutionPlan.created_at < day_start(created_to + timedelta(days=1)))
    return stmt
