"""The durable queue (assay.orchestrator.queue): order, exclusive claims, leases, cancel.

Real SQL on a real SQLite file; the wall clock the queue reads is the test's `clock`.
"""

from __future__ import annotations

import threading

from sqlalchemy import select

from assay.db.engine import Database
from assay.db.models import Event, ExecutionPlan, Priority, TestRun
from assay.orchestrator import queue, results
from assay.services.plans import cancel_plan
from tests.unit.conftest import FakeClock, add_plan

A, B = "host-a:1:aaaa", "host-b:2:bbbb"


def claim(db: Database, owner: str, lease: float = 30.0) -> str | None:
    with db.session() as s:
        plan = queue.claim_next(s, owner, lease)
        return plan.id if plan else None


def plan_row(db: Database, plan_id: str) -> ExecutionPlan:
    with db.session() as s:
        plan = s.get(ExecutionPlan, plan_id)
        assert plan is not None
        return plan


def runs(db: Database, plan_id: str) -> list[tuple[str, int]]:
    with db.session() as s:
        return [
            (r.status, r.attempt)
            for r in s.scalars(select(TestRun).where(TestRun.plan_id == plan_id))
        ]


def event_types(db: Database, plan_id: str) -> list[str]:
    with db.session() as s:
        return list(s.scalars(
            select(Event.type).where(Event.plan_id == plan_id).order_by(Event.seq)
        ))


# -- ordering --------------------------------------------------------------------------


def test_priority_first_then_oldest_first(db: Database, project_id: str, clock: FakeClock) -> None:
    made: dict[str, str] = {}
    for name, priority in [
        ("low-old", Priority.low), ("medium-old", Priority.medium),
        ("critical-new", Priority.critical), ("medium-new", Priority.medium),
        ("high", Priority.high), ("critical-newest", Priority.critical),
    ]:
        made[name] = add_plan(db, project_id, priority, name=name)
        clock.advance(1)
    names = {v: k for k, v in made.items()}
    order = [names[pid] for pid in iter(lambda: claim(db, A), None)]
    assert order == [
        "critical-new", "critical-newest", "high", "medium-old", "medium-new", "low-old",
    ]


def test_an_older_low_plan_never_overtakes_a_newer_urgent_one(
    db: Database, project_id: str, clock: FakeClock
) -> None:
    old = add_plan(db, project_id, Priority.low)
    clock.advance(3600)
    urgent = add_plan(db, project_id, Priority.high)
    assert claim(db, A) == urgent
    assert claim(db, A) == old


def test_empty_queue_claims_nothing(db: Database, project_id: str) -> None:
    assert claim(db, A) is None


# -- claims ----------------------------------------------------------------------------


def test_a_claim_leases_the_plan_to_its_owner(
    db: Database, project_id: str, clock: FakeClock
) -> None:
    pid = add_plan(db, project_id, tests=2)
    assert claim(db, A, lease=30) == pid
    plan = plan_row(db, pid)
    assert (plan.status, plan.lease_owner, plan.attempts) == ("running", A, 1)
    assert plan.lease_expires_at is not None
    assert (plan.lease_expires_at - clock.now).total_seconds() == 30
    assert plan.started_at == clock.now
    assert event_types(db, pid) == ["plan.queued", "plan.started"]


def test_a_claimed_plan_is_not_claimed_again(db: Database, project_id: str) -> None:
    pid = add_plan(db, project_id)
    assert claim(db, A) == pid
    assert claim(db, B) is None
    assert plan_row(db, pid).lease_owner == A


def test_concurrent_claimers_never_share_a_plan(db: Database, project_id: str) -> None:
    plans = {add_plan(db, project_id) for _ in range(24)}
    owners = [f"host:{n}:x" for n in range(4)]
    got: dict[str, list[str]] = {o: [] for o in owners}
    start = threading.Barrier(len(owners))

    def claimer(owner: str) -> None:
        start.wait()
        while (pid := claim(db, owner)) is not None:
            got[owner].append(pid)

    threads = [threading.Thread(target=claimer, args=(o,)) for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [pid for ids in got.values() for pid in ids]
    assert sorted(claimed) == sorted(plans)  # each plan exactly once
    for owner, ids in got.items():
        for pid in ids:
            assert plan_row(db, pid).lease_owner == owner


# -- leases and recovery ---------------------------------------------------------------


def test_renewal_extends_only_the_owners_running_leases(
    db: Database, project_id: str, clock: FakeClock
) -> None:
    pid = add_plan(db, project_id)
    claim(db, A, lease=30)
    clock.advance(20)
    with db.session() as s:
        assert queue.renew_leases(s, B, [pid], 30) == 0
        assert queue.renew_leases(s, A, [], 30) == 0
        assert queue.renew_leases(s, A, [pid], 30) == 1
    expires = plan_row(db, pid).lease_expires_at
    assert expires is not None and (expires - clock.now).total_seconds() == 30


def test_a_live_lease_is_not_recovered(db: Database, project_id: str, clock: FakeClock) -> None:
    pid = add_plan(db, project_id)
    claim(db, A, lease=30)
    clock.advance(29)
    with db.session() as s:
        assert queue.recover_expired(s, max_attempts=2) == []
    assert plan_row(db, pid).status == "running"


def test_an_expired_lease_goes_back_to_the_queue_and_is_reclaimed(
    db: Database, project_id: str, clock: FakeClock
) -> None:
    pid = add_plan(db, project_id, tests=3)
    claim(db, A, lease=30)
    with db.session() as s:  # one test had finished before the crash
        run_ids = list(s.scalars(select(TestRun.id).where(TestRun.plan_id == pid)))
    with db.session() as s:
        assert results.run_finished(s, plan_row(db, pid), run_ids[0], 0, outcome="passed",
                                    duration_s=0.1, failure=None, output="", isolation="process")
    clock.advance(31)  # A crashed: nobody renewed
    with db.session() as s:
        assert queue.recover_expired(s, max_attempts=2) == [{"plan_id": pid, "action": "requeued"}]
    plan = plan_row(db, pid)
    assert (plan.status, plan.lease_owner, plan.lease_expires_at) == ("queued", None, None)
    # Unfinished runs go back under a new attempt; the finished one keeps its result.
    assert sorted(runs(db, pid)) == [("passed", 0), ("queued", 1), ("queued", 1)]
    assert event_types(db, pid)[-1] == "plan.requeued"

    assert claim(db, B) == pid
    plan = plan_row(db, pid)
    assert (plan.lease_owner, plan.attempts) == (B, 2)
    with db.session() as s:
        # The crashed owner can no longer renew, and its late result does not land.
        assert queue.renew_leases(s, A, [pid], 30) == 0
        assert not results.run_finished(s, plan, run_ids[1], 0, outcome="failed",
                                        duration_s=1.0, failure="late", output="",
                                        isolation="process")
        assert results.run_finished(s, plan, run_ids[1], 1, outcome="passed",
                                    duration_s=1.0, failure=None, output="",
                                    isolation="process")


def test_a_plan_out_of_attempts_errors_with_its_runs(
    db: Database, project_id: str, clock: FakeClock
) -> None:
    pid = add_plan(db, project_id, tests=2)
    for owner in (A, B):
        assert claim(db, owner, lease=30) == pid
        clock.advance(31)
        with db.session() as s:
            recovered = queue.recover_expired(s, max_attempts=2)
    assert recovered == [{"plan_id": pid, "action": "errored"}]
    plan = plan_row(db, pid)
    assert plan.status == "error"
    assert plan.error is not None and "gave up after 2 attempt(s)" in plan.error
    assert plan.finished_at == clock.now
    assert {status for status, _ in runs(db, pid)} == {"error"}
    assert claim(db, A) is None
    assert event_types(db, pid)[-1] == "plan.finished"


def test_a_dead_owners_plan_is_recovered_before_its_lease_runs_out(
    db: Database, project_id: str, clock: FakeClock
) -> None:
    dead = add_plan(db, project_id)
    clock.advance(1)
    alive = add_plan(db, project_id)
    claim(db, A)
    claim(db, B)
    with db.session() as s:
        assert queue.recover_expired(s, max_attempts=2, dead_owners={A}) == [
            {"plan_id": dead, "action": "requeued"}
        ]
    assert plan_row(db, dead).status == "queued"
    assert plan_row(db, alive).status == "running"


def test_a_clean_stop_hands_plans_back_without_using_an_attempt(
    db: Database, project_id: str
) -> None:
    mine, theirs = add_plan(db, project_id), add_plan(db, project_id)
    claim(db, A)
    claim(db, B)
    with db.session() as s:
        assert queue.release_owned(s, A, [mine, theirs]) == 1
    plan = plan_row(db, mine)
    assert (plan.status, plan.attempts, plan.lease_owner) == ("queued", 0, None)
    assert plan_row(db, theirs).lease_owner == B
    assert claim(db, B) == mine
    assert plan_row(db, mine).attempts == 1


# -- cancel ----------------------------------------------------------------------------


def test_a_cancelled_queued_plan_is_never_claimed(db: Database, project_id: str) -> None:
    pid = add_plan(db, project_id, tests=2)
    with db.session() as s:
        plan = s.get(ExecutionPlan, pid)
        assert plan is not None
        assert cancel_plan(s, plan)
    assert claim(db, A) is None
    assert plan_row(db, pid).status == "cancelled"
    assert {status for status, _ in runs(db, pid)} == {"cancelled"}
    assert event_types(db, pid)[-1] == "plan.cancelled"


def test_cancelling_a_running_plan_takes_its_lease(
    db: Database, project_id: str, clock: FakeClock
) -> None:
    pid = add_plan(db, project_id)
    claim(db, A)
    with db.session() as s:
        plan = s.get(ExecutionPlan, pid)
        assert plan is not None
        assert cancel_plan(s, plan)
    plan = plan_row(db, pid)
    assert (plan.status, plan.lease_owner, plan.lease_expires_at) == ("cancelled", None, None)
    clock.advance(3600)
    with db.session() as s:
        assert queue.renew_leases(s, A, [pid], 30) == 0
        assert queue.recover_expired(s, max_attempts=2) == []  # stays cancelled
    assert plan_row(db, pid).status == "cancelled"


def test_a_finished_plan_cannot_be_cancelled(db: Database, project_id: str) -> None:
    pid = add_plan(db, project_id)
    claim(db, A)
    with db.session() as s:
        assert results.finish_plan(s, pid, A) == "error"  # its one run never reported
    with db.session() as s:
        plan = s.get(ExecutionPlan, pid)
        assert plan is not None
        assert not cancel_plan(s, plan)
    assert plan_row(db, pid).status == "error"


def test_depth_counts_queued_and_running_work(db: Database, project_id: str) -> None:
    add_plan(db, project_id, tests=3)
    add_plan(db, project_id, tests=2)
    claim(db, A)
    with db.session() as s:
        d = queue.depth(s)
    assert (d.queued_plans, d.running_plans) == (1, 1)
    assert d.queued_tests == 5 and d.running_tests == 0
