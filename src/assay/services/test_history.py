"""A test case's history: its latest result, for a whole page of cases in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.db.models import RunStatus, TestRun

RESULTS = (RunStatus.passed, RunStatus.failed, RunStatus.error, RunStatus.skipped)
"""What counts as a result: a cancelled run (or one still queued or running) says
nothing about the test."""


@dataclass(frozen=True)
class LatestRun:
    run_id: str
    plan_id: str
    status: str
    duration_s: float | None
    finished_at: datetime | None


def latest_runs(session: Session, test_case_ids: list[str]) -> dict[str, LatestRun]:
    """Each case's latest finished run, in one query for all of them.

    A window over the cases' finished runs, newest first; the index on
    (test_case_id, finished_at) serves it.
    """
    if not test_case_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=TestRun.test_case_id,
            order_by=(TestRun.finished_at.desc(), TestRun.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(
            TestRun.test_case_id,
            TestRun.id,
            TestRun.plan_id,
            TestRun.status,
            TestRun.duration_s,
            TestRun.finished_at,
            rank,
        )
        .where(
            TestRun.test_case_id.in_(test_case_ids),
            TestRun.status.in_([s.value for s in RESULTS]),
            TestRun.finished_at.is_not(None),
        )
        .subquery()
    )
    rows = session.execute(select(ranked).where(ranked.c.rank == 1))
    return {
        row.test_case_id: LatestRun(
            row.id, row.plan_id, row.status, row.duration_s, row.finished_at
        )
        for row in rows
    }
