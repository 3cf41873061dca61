"""Recording a burst of results (results.record, PlanRecorder) on a real SQLite file.

A burst must mean exactly what the same changes one at a time would: each start and
result lands once, only in the run's current attempt, and the events follow the
order the runner reported them in.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.db.engine import Database
from assay.db.models import Event, ExecutionPlan, TestRun
from assay.orchestrator import results
from assay.orchestrator.recorder import PlanRecorder
from assay.orchestrator.results import RunFinished, RunStarted
from assay.orchestrator.writer import BatchWriter
from tests.unit.conftest import add_plan


def plan_and_runs(db: Database, project_id: str, tests: int) -> tuple[ExecutionPlan, list[str]]:
    plan_id = add_plan(db, project_id, tests=tests)
    with db.session() as s:
        plan = s.get(ExecutionPlan, plan_id)
        assert plan is not None
        ids = list(s.scalars(select(TestRun.id).where(TestRun.plan_id == plan_id)
                             .order_by(TestRun.position)))
    return plan, ids


def finished(run_id: str, outcome: str = "passed", attempt: int = 0,
             failure: str | None = None) -> RunFinished:
    return RunFinished(run_id, attempt, outcome, 0.25, failure, "out", "process",
                       [{"nodeid": "t.py::x", "outcome": outcome, "duration_s": 0.25,
                         "failure": failure}], "warm")


def state(db: Database, plan_id: str) -> dict[str, tuple[str, float | None, str | None]]:
    with db.session() as s:
        return {r.id: (r.status, r.duration_s, r.start) for r in s.scalars(
            select(TestRun).where(TestRun.plan_id == plan_id))}


def events(db: Database, plan_id: str) -> list[tuple[str, dict[str, Any]]]:
    with db.session() as s:
        return [(e.type, e.payload) for e in s.scalars(
            select(Event).where(Event.plan_id == plan_id, Event.type.like("test.%"))
            .order_by(Event.seq))]


def test_a_burst_lands_each_change_once_in_order(db: Database, project_id: str) -> None:
    plan, (a, b, c) = plan_and_runs(db, project_id, 3)
    with db.session() as s:
        won = results.record(s, plan, [
            RunStarted(a, 0), finished(a, "failed", failure="boom"),
            RunStarted(b, 0), RunStarted(b, 0),          # a repeated start: once
            finished(b), finished(b, "error"),           # a repeated result: the first
            RunStarted(c, 1),                            # not its attempt: ignored
        ])
    assert won == [True, True, True, False, True, False, False]
    assert state(db, plan.id) == {a: ("failed", 0.25, "warm"), b: ("passed", 0.25, "warm"),
                                  c: ("queued", None, None)}
    assert [(t, p["run_id"], p.get("status")) for t, p in events(db, plan.id)] == [
        ("test.started", a, None), ("test.finished", a, "failed"),
        ("test.started", b, None), ("test.finished", b, "passed")]
    assert events(db, plan.id)[1][1]["failure"] == "boom"


def test_a_final_result_is_never_overwritten_by_a_later_burst(
    db: Database, project_id: str
) -> None:
    plan, (a,) = plan_and_runs(db, project_id, 1)
    with db.session() as s:
        assert results.record(s, plan, [finished(a)]) == [True]
    with db.session() as s:  # a redelivered job reports it again
        assert results.record(s, plan, [RunStarted(a, 0), finished(a, "failed")]) == [
            False, False]
    assert state(db, plan.id)[a][0] == "passed"
    assert len(events(db, plan.id)) == 1


def test_a_plan_recorder_writes_a_burst_in_few_ops(db: Database, project_id: str) -> None:
    plan, ids = plan_and_runs(db, project_id, 300)
    ops: list[int] = []

    class CountingWriter(BatchWriter):
        async def submit(self, op: Any) -> Any:
            ops.append(1)
            return await super().submit(op)

    async def main() -> None:
        writer = CountingWriter(db)
        writer.start()
        recorder = PlanRecorder(writer, plan)
        for run_id in ids:  # as a job's events arrive: no await between them
            recorder.add(RunStarted(run_id, 0))
            recorder.add(finished(run_id))
        await recorder.drain()
        await writer.close()

    asyncio.run(main())
    assert {status for status, _, _ in state(db, plan.id).values()} == {"passed"}
    assert len(events(db, plan.id)) == 600
    assert len(ops) == 1  # the whole burst arrived before the writer ran


def test_a_failed_flush_is_retried_with_the_same_changes(
    db: Database, project_id: str
) -> None:
    """The writer retries a failed batch op by op; the retry of a flush must write the
    changes that flush took, not whatever is queued by then."""
    plan, (a, b) = plan_and_runs(db, project_id, 2)
    failures = [RuntimeError("the first transaction fails")]

    def fail_once(session: Session) -> None:
        if failures:
            raise failures.pop()

    async def main() -> None:
        writer = BatchWriter(db)
        recorder = PlanRecorder(writer, plan)
        recorder.add(finished(a))  # the flush takes [a] and writes it; then the batch fails
        doomed = asyncio.ensure_future(writer.submit(fail_once))
        await asyncio.sleep(0)  # one loop turn: both submits are queued before the writer runs
        writer.start()  # so they share one batch, which fails and is retried op by op
        await doomed
        recorder.add(finished(b))
        await recorder.drain()
        await writer.close()

    asyncio.run(main())
    assert state(db, plan.id) == {a: ("passed", 0.25, "warm"), b: ("passed", 0.25, "warm")}
    assert len(events(db, plan.id)) == 2
