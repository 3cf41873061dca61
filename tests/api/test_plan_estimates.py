"""A plan's time left from its tests' past durations; plan names, triggers and filters.

On real SQLite and PostgreSQL: plans are created through the API (the orchestrator is
off, so they stay queued), and their runs' outcomes are written as the orchestrator
would write them, with the durations and times each case needs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from assay.db.engine import Database
from assay.db.models import ExecutionPlan, TestRun
from assay.services.estimates import WINDOW, estimate_plan
from tests.api.conftest import API

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def plan_of(client: TestClient, headers: dict[str, str], project_id: str, ids: list[str],
            **fields: Any) -> dict[str, Any]:
    r = client.post(f"{API}/execution/plans", headers=headers,
                    json={"project_id": project_id, "test_case_ids": ids, **fields})
    assert r.status_code == 201, r.text
    return dict(r.json())


def finish(db: Database, plan_id: str, outcomes: dict[str, tuple[str, float | None]],
           at: datetime) -> None:
    """Write each test case's run of the plan as finished (`status`, `duration_s`) at `at`."""
    with db.session() as s:
        for case_id, (status, duration) in outcomes.items():
            s.execute(update(TestRun)
                      .where(TestRun.plan_id == plan_id, TestRun.test_case_id == case_id)
                      .values(status=status, duration_s=duration, started_at=at,
                              finished_at=at))
        s.execute(update(ExecutionPlan).where(ExecutionPlan.id == plan_id)
                  .values(status="passed", started_at=at, finished_at=at))


def start(db: Database, plan_id: str, case_id: str, at: datetime) -> None:
    with db.session() as s:
        s.execute(update(TestRun)
                  .where(TestRun.plan_id == plan_id, TestRun.test_case_id == case_id)
                  .values(status="running", started_at=at))
        s.execute(update(ExecutionPlan).where(ExecutionPlan.id == plan_id)
                  .values(status="running", started_at=at))


def test_the_estimate_is_the_median_of_each_tests_last_runs(
    client: TestClient, admin: dict[str, str], db: Database, project: dict[str, Any],
    new_test: Callable[..., dict[str, Any]],
) -> None:
    a, b = new_test(title="a")["id"], new_test(title="b")["id"]
    # Seven earlier plans of `a`: the oldest two fall out of the window of five; a skip
    # and a cancellation say nothing of its duration and are not counted.
    durations: list[tuple[str, float | None]] = [
        ("passed", 100.0), ("passed", 100.0), ("passed", 1.0), ("failed", 2.0),
        ("skipped", 0.0), ("error", 3.0), ("cancelled", None), ("passed", 4.0),
        ("passed", 9.0),
    ]
    for i, outcome in enumerate(durations):
        p = plan_of(client, admin, project["id"], [a])
        finish(db, p["id"], {a: outcome}, T0 + timedelta(minutes=i))
    # `b` ran once, 6 s, in a plan with `a`.
    both = plan_of(client, admin, project["id"], [a, b])
    finish(db, both["id"], {a: ("passed", 5.0), b: ("passed", 6.0)}, T0 + timedelta(hours=1))

    current = plan_of(client, admin, project["id"], [a, b])
    with db.session() as s:
        est = estimate_plan(s, current["id"], now=T0 + timedelta(hours=2))
    # a: its last five timed runs are 5, 9, 4, 3, 2 -> median 4; b: 6.
    assert (est.unfinished, est.with_history, est.samples) == (2, 2, WINDOW + 1)
    assert est.running == [] and est.queued_s == 10.0 and est.remaining_s == 10.0

    # `a` has been running 3 s of its expected 4: 1 s of it is left, then b's 6.
    start(db, current["id"], a, T0 + timedelta(hours=2))
    with db.session() as s:
        est = estimate_plan(s, current["id"], now=T0 + timedelta(hours=2, seconds=3))
    assert [(r.test_case_id, r.expected_s, r.elapsed_s) for r in est.running] == [(a, 4.0, 3.0)]
    assert est.queued_s == 6.0 and est.remaining_s == 7.0
    # Running longer than usual: nothing is left of it, never a negative time.
    with db.session() as s:
        est = estimate_plan(s, current["id"], now=T0 + timedelta(hours=2, seconds=30))
    assert est.remaining_s == 6.0

    # The API serves the same, ticking from `as_of`.
    r = client.get(f"{API}/execution/plans/{current['id']}/estimate", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["with_history"] == 2 and body["samples"] == WINDOW + 1
    assert body["queued_s"] == 6.0 and body["running"][0]["expected_s"] == 4.0
    assert body["window"] == WINDOW and body["remaining_s"] is not None


def test_no_history_is_no_estimate_until_the_plan_has_its_own(
    client: TestClient, admin: dict[str, str], db: Database, project: dict[str, Any],
    new_test: Callable[..., dict[str, Any]],
) -> None:
    a, b, c = (new_test(title=t)["id"] for t in "abc")
    plan = plan_of(client, admin, project["id"], [a, b, c])
    r = client.get(f"{API}/execution/plans/{plan['id']}/estimate", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["remaining_s"] is None and r.json()["samples"] == 0

    # Once `a` finished in this plan (2 s), the others are guessed at the plan's mean.
    with db.session() as s:
        s.execute(update(TestRun).where(TestRun.plan_id == plan["id"], TestRun.test_case_id == a)
                  .values(status="passed", duration_s=2.0, started_at=T0, finished_at=T0))
    with db.session() as s:
        est = estimate_plan(s, plan["id"], now=T0)
    assert est.fallback_s == 2.0 and est.with_history == 0 and est.remaining_s == 4.0

    # Another plan's runs of the same tests never count their own plan: a plan that
    # finished has nothing left.
    finish(db, plan["id"], {b: ("passed", 1.0), c: ("passed", 1.0)}, T0)
    with db.session() as s:
        est = estimate_plan(s, plan["id"], now=T0)
    assert est.unfinished == 0 and est.remaining_s == 0.0

    assert client.get(f"{API}/execution/plans/nope/estimate", headers=admin).status_code == 404


def test_plans_are_named_after_what_they_run_and_say_where_they_came_from(
    client: TestClient, admin: dict[str, str], project: dict[str, Any],
    new_test: Callable[..., dict[str, Any]],
) -> None:
    ids = [new_test(title=f"check {i}", tags=["smoke", "api"] if i < 2 else ["slow"])["id"]
           for i in range(4)]
    one = plan_of(client, admin, project["id"], ids[:1])
    assert one["name"] == "check 0" and one["trigger"] == "api"
    three = plan_of(client, {**admin, "X-Assay-Client": "dashboard"}, project["id"], ids[:3])
    assert three["name"] == "3 tests: check 0, check 1, …" and three["trigger"] == "dashboard"
    r = client.post(f"{API}/execution/plans", headers={**admin, "X-Assay-Client": "cli"},
                    json={"project_id": project["id"], "selection": {"tags": ["smoke", "api"]}})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "tags: smoke, api · 2 tests" and r.json()["trigger"] == "cli"
    named = plan_of(client, admin, project["id"], ids, name="nightly")
    assert named["name"] == "nightly"

    # Filters: search, trigger, tag and days, each alone and together.
    def names(**params: Any) -> list[str]:
        r = client.get(f"{API}/execution/plans", headers=admin,
                       params={"project_id": project["id"], **params})
        assert r.status_code == 200, r.text
        return [p["name"] for p in r.json()["items"]]

    assert names(q="NIGHT") == ["nightly"]
    assert names(trigger=["dashboard", "cli"]) == ["tags: smoke, api · 2 tests",
                                                   "3 tests: check 0, check 1, …"]
    assert names(tag="slow") == ["nightly", "3 tests: check 0, check 1, …"]
    assert names(tag="smoke", trigger="api") == ["nightly", "check 0"]
    today = datetime.now(UTC).date()
    assert len(names(created_from=today.isoformat(), created_to=today.isoformat())) == 4
    assert names(created_to=(today - timedelta(days=1)).isoformat()) == []
    assert names(created_from=(today + timedelta(days=1)).isoformat()) == []
    assert names(q="%") == []  # literal text, not a pattern
