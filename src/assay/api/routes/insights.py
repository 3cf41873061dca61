"""Insights: a project's test history summarised for charts.

Every figure is one SQL aggregate over finished test runs (passed, failed or
errored) of the project's plans within the last `days` days, so the page stays
cheap with a long history. The only dialect-specific piece is how a timestamp
becomes a UTC calendar day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from assay.api.deps import DbSession, Viewer
from assay.api.errors import ROLE, errors
from assay.api.routes.projects import get_project
from assay.api.schemas.insights import (
    DayDuration,
    DayPassRate,
    FailingTest,
    FlakyTest,
    InsightsOut,
    SlowTest,
)
from assay.db.base import utcnow
from assay.db.models import ExecutionPlan, RunStatus, TestCase, TestRun

router = APIRouter(prefix="/projects", tags=["insights"])

OUTCOMES = (RunStatus.passed.value, RunStatus.failed.value, RunStatus.error.value)
TOP = 10


def _day(session: Session) -> ColumnElement[Any]:
    """The UTC calendar day a run finished on, as a SQL expression."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", TestRun.finished_at))
    # SQLite stores UTC timestamps as ISO text; date() keeps its day.
    return func.date(TestRun.finished_at)


def _day_str(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _runs(project_id: str, since: datetime) -> list[ColumnElement[bool]]:
    return [
        ExecutionPlan.project_id == project_id,
        TestRun.finished_at.is_not(None),
        TestRun.finished_at >= since,
        TestRun.status.in_(OUTCOMES),
    ]


def _base(*cols: Any, where: list[ColumnElement[bool]]) -> Select[Any]:
    return select(*cols).select_from(TestRun).join(
        ExecutionPlan, ExecutionPlan.id == TestRun.plan_id
    ).where(*where)


def _every_day(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


@router.get(
    "/{project_id}/insights",
    response_model=InsightsOut,
    responses=errors(*ROLE, 422, {404: "No such project."}),
)
def project_insights(
    project_id: str, _: Viewer, session: DbSession,
    days: int = Query(30, ge=1, le=365, description="How far back to look, in days."),
) -> InsightsOut:
    """Pass rate and duration per day, and the slowest, most failing and flakiest tests."""
    get_project(session, project_id)
    now = utcnow()
    since = datetime.combine((now - timedelta(days=days - 1)).date(), datetime.min.time(),
                             tzinfo=now.tzinfo)
    where = _runs(project_id, since)
    day = _day(session).label("day")

    failed = TestRun.status == RunStatus.failed.value
    errored = TestRun.status == RunStatus.error.value
    per_day = {
        _day_str(row.day): row
        for row in session.execute(
            _base(
                day,
                func.sum(case((TestRun.status == RunStatus.passed.value, 1), else_=0)).label("p"),
                func.sum(case((failed, 1), else_=0)).label("f"),
                func.sum(case((errored, 1), else_=0)).label("e"),
                func.coalesce(func.sum(TestRun.duration_s), 0.0).label("total"),
                where=where,
            ).group_by(day)
        )
    }
    calendar = _every_day(since.date(), now.date())
    pass_rate = [
        DayPassRate(day=d, passed=int(r.p), failed=int(r.f), errored=int(r.e))
        if (r := per_day.get(d)) else DayPassRate(day=d, passed=0, failed=0, errored=0)
        for d in calendar
    ]
    duration = [
        DayDuration(day=d, total_s=round(float(per_day[d].total), 3) if d in per_day else 0.0)
        for d in calendar
    ]

    case_where = [*where, TestRun.test_case_id.is_not(None)]
    avg = func.avg(TestRun.duration_s).label("avg_s")
    slowest = [
        SlowTest(test_case_id=r.id, title=r.title, avg_s=round(float(r.avg_s), 3))
        for r in session.execute(
            _base(TestCase.id, TestCase.title, avg,
                  where=[*case_where, TestRun.duration_s.is_not(None)])
            .join(TestCase, TestCase.id == TestRun.test_case_id)
            .group_by(TestCase.id, TestCase.title)
            .order_by(avg.desc(), TestCase.id)
            .limit(TOP)
        )
    ]

    failures = func.sum(case((TestRun.status.in_(OUTCOMES[1:]), 1), else_=0)).label("failures")
    most_failing = [
        FailingTest(test_case_id=r.id, title=r.title, failures=int(r.failures), runs=int(r.runs))
        for r in session.execute(
            _base(TestCase.id, TestCase.title, failures, func.count().label("runs"),
                  where=case_where)
            .join(TestCase, TestCase.id == TestRun.test_case_id)
            .group_by(TestCase.id, TestCase.title)
            .having(failures > 0)
            .order_by(failures.desc(), TestCase.id)
            .limit(TOP)
        )
    ]

    # A flip is a run whose outcome (pass / not pass) differs from the previous run
    # of the same test case; window functions work on SQLite >= 3.25 and PostgreSQL.
    outcome = case((TestRun.status == RunStatus.passed.value, 1), else_=0)
    ordered = _base(
        TestRun.test_case_id.label("case_id"),
        outcome.label("outcome"),
        func.lag(outcome)
        .over(partition_by=TestRun.test_case_id, order_by=(TestRun.finished_at, TestRun.id))
        .label("previous"),
        where=case_where,
    ).subquery()
    flips = func.sum(
        case((and_(ordered.c.previous.is_not(None), ordered.c.previous != ordered.c.outcome), 1),
             else_=0)
    ).label("flips")
    flaky = [
        FlakyTest(test_case_id=r.id, title=r.title, flips=int(r.flips))
        for r in session.execute(
            select(TestCase.id, TestCase.title, flips)
            .select_from(ordered)
            .join(TestCase, TestCase.id == ordered.c.case_id)
            .group_by(TestCase.id, TestCase.title)
            .having(flips > 0)
            .order_by(flips.desc(), TestCase.id)
            .limit(TOP)
        )
    ]

    return InsightsOut(days=days, since=since, pass_rate=pass_rate, duration=duration,
                       slowest=slowest, most_failing=most_failing, flaky=flaky)
