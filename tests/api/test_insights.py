"""`GET /api/v1/projects/{id}/insights`: per-day pass rate and duration, slowest,
most failing and flaky tests, computed in SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assay.api.routes import insights
from assay.db.models import ExecutionPlan, TestRun
from tests.conftest import make_project

URL = "/api/v1/projects/{}/insights"


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The client, with the insights router mounted if the app does not have it yet."""
    app: FastAPI = client.app  # type: ignore[assignment]
    if not any(getattr(r, "path", "") == "/api/v1" + "/projects/{project_id}/insights"
               for r in app.router.routes):
        app.include_router(insights.router, prefix="/api/v1")
        # The dashboard's catch-all must stay the last route.
        routes = app.router.routes
        for route in [r for r in routes if getattr(r, "path", "") == "/{path:path}"]:
            routes.remove(route)
            routes.append(route)
    return client


def _case(c: TestClient, headers: dict[str, str], project_id: str, title: str) -> str:
    r = c.post("/api/v1/tests", headers=headers, json={
        "project_id": project_id, "title": title, "code": "def test_x():\n    assert True\n",
    })
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


Row = tuple[str | None, str, float, datetime]


def _runs(c: TestClient, project_id: str, rows: list[Row]) -> None:
    """One finished plan per distinct timestamp, with the given (case, status, duration, at)."""
    with c.app.state.ctx.db.session() as session:  # type: ignore[attr-defined]
        for i, (case_id, status, duration, at) in enumerate(rows):
            plan = ExecutionPlan(project_id=project_id, name=f"p{i}", status="passed",
                                 created_at=at, started_at=at, finished_at=at)
            plan.runs.append(TestRun(test_case_id=case_id, name=f"run{i}", status=status,
                                     duration_s=duration, started_at=at, finished_at=at))
            session.add(plan)


def test_insights_aggregate_runs_by_day_and_test(
    api: TestClient, as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    editor = as_role("editor")
    project = make_project(api, editor, project_dir)
    other = make_project(api, editor, project_dir, name="other")
    fast = _case(api, editor, project["id"], "fast")
    slow = _case(api, editor, project["id"], "slow")
    flaky = _case(api, editor, project["id"], "flaky")
    elsewhere = _case(api, editor, other["id"], "elsewhere")

    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = now - timedelta(days=1)
    rows: list[Row] = [
        (fast, "passed", 0.1, yesterday),
        (fast, "passed", 0.3, now),
        (slow, "passed", 4.0, yesterday),
        (slow, "failed", 6.0, now),
        (flaky, "passed", 1.0, yesterday - timedelta(hours=2)),
        (flaky, "failed", 1.0, yesterday - timedelta(hours=1)),
        (flaky, "passed", 1.0, yesterday),
        (flaky, "error", 1.0, now),
        (fast, "cancelled", 9.0, now),  # not an outcome: ignored
        (fast, "passed", 50.0, now - timedelta(days=40)),  # outside the window
    ]
    _runs(api, project["id"], rows)
    _runs(api, other["id"], [(elsewhere, "failed", 99.0, now)])

    r = api.get(URL.format(project["id"]), headers=as_role("viewer"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["days"] == 30

    days = {d["day"]: d for d in body["pass_rate"]}
    assert len(body["pass_rate"]) == 30
    assert days[now.date().isoformat()] == {
        "day": now.date().isoformat(), "passed": 1, "failed": 1, "errored": 1}
    assert days[yesterday.date().isoformat()] == {
        "day": yesterday.date().isoformat(), "passed": 4, "failed": 1, "errored": 0}
    assert sum(d["passed"] + d["failed"] + d["errored"] for d in body["pass_rate"]) == 8

    totals = {d["day"]: d["total_s"] for d in body["duration"]}
    assert totals[now.date().isoformat()] == pytest.approx(0.3 + 6.0 + 1.0)
    assert totals[yesterday.date().isoformat()] == pytest.approx(0.1 + 4.0 + 1.0 + 1.0 + 1.0)

    slowest = body["slowest"]
    assert [s["title"] for s in slowest] == ["slow", "flaky", "fast"]
    assert slowest[0] == {"test_case_id": slow, "title": "slow", "avg_s": 5.0}

    failing = {f["title"]: f for f in body["most_failing"]}
    assert failing["flaky"] == {"test_case_id": flaky, "title": "flaky", "failures": 2, "runs": 4}
    assert failing["slow"]["failures"] == 1 and failing["slow"]["runs"] == 2
    assert "fast" not in failing and "elsewhere" not in failing
    assert body["most_failing"][0]["title"] == "flaky"

    # flaky: pass → fail → pass → error = 3 flips; slow: pass → fail = 1; fast: none.
    assert body["flaky"] == [
        {"test_case_id": flaky, "title": "flaky", "flips": 3},
        {"test_case_id": slow, "title": "slow", "flips": 1},
    ]

    r = api.get(URL.format(project["id"]) + "?days=1", headers=as_role("viewer"))
    assert r.status_code == 200
    assert [d["day"] for d in r.json()["pass_rate"]] == [now.date().isoformat()]
    assert r.json()["slowest"][0]["avg_s"] == 6.0


def test_insights_of_an_empty_project_and_errors(
    api: TestClient, as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    project = make_project(api, as_role("editor"), project_dir)
    viewer = as_role("viewer")
    r = api.get(URL.format(project["id"]) + "?days=7", headers=viewer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["pass_rate"]) == 7 and all(d["passed"] == 0 for d in body["pass_rate"])
    assert body["slowest"] == body["most_failing"] == body["flaky"] == []

    assert api.get(URL.format(project["id"])).status_code == 401
    assert api.get(URL.format("nope"), headers=viewer).status_code == 404
    assert api.get(URL.format(project["id"]) + "?days=0", headers=viewer).status_code == 422
    assert api.get(URL.format(project["id"]) + "?days=9999", headers=viewer).status_code == 422
