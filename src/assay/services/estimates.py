"""How long a plan has left, from how long its tests took before on the same project.

Each test case's expected duration is the median of its last `WINDOW` finished runs
(passed, failed or errored: a skip or a cancellation says nothing about how long the
test takes), in any earlier plan. A test case belongs to one project, so its history
is that project's. A test with no history is expected to take as long as this plan's
finished tests did on average, when some have finished; with neither, there is no
estimate. The plan's own unfinished runs are read fresh on every call, so the estimate
follows the plan as it goes.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.db.base import utcnow
from assay.db.models import RunStatus, TestRun

WINDOW = 5
"""Past runs of a test case its expected duration is the median of."""

TIMED = (RunStatus.passed.value, RunStatus.failed.value, RunStatus.error.value)
"""Outcomes whose duration is the test's own (a skip or a cancellation is not)."""

UNFINISHED = (RunStatus.queued.value, RunStatus.running.value)


@dataclass(frozen=True)
class History:
    """A test case's past durations, newest first (at most `WINDOW`)."""

    durations: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return float(statistics.median(self.durations))

    @property
    def last_s(self) -> float:
        return self.durations[0]


@dataclass(frozen=True)
class RunningRun:
    run_id: str
    test_case_id: str | None
    expected_s: float | None
    elapsed_s: float


@dataclass
class PlanEstimate:
    """What a plan has left at `as_of`, and what that is based on."""

    plan_id: str
    as_of: datetime
    unfinished: int = 0
    with_history: int = 0
    samples: int = 0
    queued_s: float = 0.0
    fallback_s: float | None = None
    running: list[RunningRun] = field(default_factory=list)
    complete: bool = True
    """False when some unfinished run had neither history nor a fallback."""

    @property
    def remaining_s(self) -> float | None:
        if not self.complete:
            return None
        left = self.queued_s
        for run in self.running:
            if run.expected_s is not None:
                left += max(run.expected_s - run.elapsed_s, 0.0)
        return left


def histories(
    session: Session, plan_id: str, *, window: int = WINDOW
) -> dict[str, History]:
    """The past durations of each test case this plan has yet to finish.

    One query: the last `window` timed runs of each of those test cases in other
    plans, by `ix_test_runs_test_case_finished` (test_case_id, finished_at).
    """
    wanted = (
        select(TestRun.test_case_id)
        .where(
            TestRun.plan_id == plan_id,
            TestRun.status.in_(UNFINISHED),
            TestRun.test_case_id.is_not(None),
        )
        .scalar_subquery()
    )
    ranked = (
        select(
            TestRun.test_case_id,
            TestRun.duration_s,
            func.row_number()
            .over(
                partition_by=TestRun.test_case_id,
                order_by=(TestRun.finished_at.desc(), TestRun.id.desc()),
            )
            .label("n"),
        )
        .where(
            TestRun.test_case_id.in_(wanted),
            TestRun.plan_id != plan_id,
            TestRun.status.in_(TIMED),
            TestRun.duration_s.is_not(None),
            TestRun.finished_at.is_not(None),
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.test_case_id, ranked.c.duration_s)
        .where(ranked.c.n <= window)
        .order_by(ranked.c.test_case_id, ranked.c.n)
    ).all()
    found: dict[str, list[float]] = defaultdict(list)
    for case_id, duration in rows:
        found[case_id].append(float(duration))
    return {case_id: History(tuple(d)) for case_id, d in found.items()}


def estimate_plan(
    session: Session, plan_id: str, *, now: datetime | None = None, window: int = WINDOW
) -> PlanEstimate:
    now = now or utcnow()
    past = histories(session, plan_id, window=window)
    mean = session.scalar(
        select(func.avg(TestRun.duration_s)).where(
            TestRun.plan_id == plan_id,
            TestRun.status.in_(TIMED),
            TestRun.duration_s.is_not(None),
        )
    )
    out = PlanEstimate(
        plan_id=plan_id, as_of=now, fallback_s=float(mean) if mean is not None else None
    )
    runs = session.execute(
        select(TestRun.id, TestRun.test_case_id, TestRun.status, TestRun.started_at).where(
            TestRun.plan_id == plan_id, TestRun.status.in_(UNFINISHED)
        )
    ).all()
    counted: set[str] = set()
    for run_id, case_id, status, started_at in runs:
        out.unfinished += 1
        history = past.get(case_id) if case_id else None
        if history is not None and case_id:
            out.with_history += 1
            if case_id not in counted:  # a test case twice in a plan: its history once
                counted.add(case_id)
                out.samples += len(history.durations)
        expected = history.median_s if history is not None else out.fallback_s
        if expected is None:
            out.complete = False
        if status == RunStatus.running.value:
            elapsed = (now - started_at).total_seconds() if started_at else 0.0
            out.running.append(RunningRun(run_id, case_id, expected, max(elapsed, 0.0)))
        elif expected is not None:
            out.queued_s += expected
    if out.unfinished and out.with_history == 0 and out.fallback_s is None:
        out.complete = False
    return out
