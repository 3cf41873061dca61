"""Plans through the real API, executed by the real orchestrator in a real sandbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import make_project
from tests.execution.helpers import add_test, queue_plan, wait_plan

PASS = "def test_ok():\n    assert 1 + 1 == 2\n"
FAIL = "def test_bad():\n    assert [1, 2] == [1, 3]\n"


def test_plan_runs_and_records_every_result(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c, h = live_client, live_as_role("editor")
    project = make_project(c, h, project_dir)
    ids = [
        add_test(c, h, project["id"], PASS, title="passes"),
        add_test(c, h, project["id"], FAIL, title="fails"),
        add_test(c, h, project["id"], "from calc import add\n\n\ndef test_uses_project():\n"
                 "    assert add(2, 2) == 4\n", title="imports the project"),
        add_test(c, h, project["id"], "import pytest\n\n\ndef test_skip():\n"
                 "    pytest.skip('not today')\n", title="skips"),
    ]
    created = queue_plan(c, h, project["id"], ids)
    assert created["status"] == "queued" and created["total"] == 4

    plan = wait_plan(c, h, created["id"])
    assert plan["status"] == "failed"
    by_title = {r["name"]: r for r in plan["runs"]}
    assert by_title["passes"]["status"] == "passed"
    assert by_title["imports the project"]["status"] == "passed"
    assert by_title["skips"]["status"] == "skipped"
    failing = by_title["fails"]
    assert failing["status"] == "failed"
    assert "assert [1, 2] == [1, 3]" in failing["failure"]
    assert all(r["duration_s"] is not None and r["isolation"] for r in plan["runs"])
    # Forked from the environment's warm runner wherever bubblewrap isolates the run.
    assert all(r["start"] == ("warm" if r["isolation"] == "bwrap" else "cold")
               for r in plan["runs"]), plan["runs"]
    assert plan["counts"]["passed"] == 2 and plan["counts"]["failed"] == 1
    assert plan["snapshot_hash"] and plan["started_at"] and plan["finished_at"]

    # The user's own tree was never written: no stray files from the run.
    assert sorted(p.name for p in project_dir.iterdir()) == ["calc", "tests"]


def test_plan_input_errors_are_clear_and_write_nothing(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c, h = live_client, live_as_role("editor")
    project = make_project(c, h, project_dir)
    other = make_project(c, h, project_dir, name="other")
    foreign = add_test(c, h, other["id"], PASS)

    r = c.post("/api/v1/execution/plans", headers=h,
               json={"project_id": project["id"], "test_case_ids": [foreign, "nope"]})
    assert r.status_code == 422
    assert "nope" in str(r.json()["detail"]) and foreign in str(r.json()["detail"])

    r = c.post("/api/v1/execution/plans", headers=h,
               json={"project_id": project["id"], "selection": {"tags": ["none-such"]}})
    assert r.status_code == 422 and "matches no test case" in str(r.json()["detail"])

    r = c.post("/api/v1/execution/plans", headers=h, json={"project_id": project["id"]})
    assert r.status_code == 422

    r = c.post("/api/v1/execution/plans", headers=h,
               json={"project_id": "missing", "test_case_ids": [foreign]})
    assert r.status_code == 404

    r = c.post("/api/v1/execution/plans", headers=h,
               json={"project_id": project["id"], "test_case_ids": [foreign], "priority": "urgent"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "priority"

    assert c.get("/api/v1/execution/plans", headers=h).json()["total"] == 0


def test_selection_by_tag_and_rerun_failed_only(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c, h = live_client, live_as_role("editor")
    project = make_project(c, h, project_dir)
    add_test(c, h, project["id"], PASS, title="smoke pass", tags=["smoke"])
    add_test(c, h, project["id"], FAIL, title="smoke fail", tags=["smoke"])
    add_test(c, h, project["id"], PASS, title="not smoke")
    add_test(c, h, project["id"], PASS, title="archived smoke", tags=["smoke"], status="archived")

    r = c.post("/api/v1/execution/plans", headers=h,
               json={"project_id": project["id"], "selection": {"tags": ["smoke"]}})
    assert r.status_code == 201 and r.json()["total"] == 2
    plan = wait_plan(c, h, r.json()["id"])
    assert {r["name"]: r["status"] for r in plan["runs"]} == {
        "smoke pass": "passed", "smoke fail": "failed"}

    r = c.post(f"/api/v1/execution/plans/{plan['id']}/rerun", headers=h,
               json={"failed_only": True})
    assert r.status_code == 201, r.text
    rerun = wait_plan(c, h, r.json()["id"])
    assert [x["name"] for x in rerun["runs"]] == ["smoke fail"]
    assert rerun["trigger"] == "rerun" and rerun["source_plan_id"] == plan["id"]

    listed = c.get("/api/v1/execution/plans", headers=h,
                   params={"project_id": project["id"], "status": "failed", "limit": 1}).json()
    assert listed["total"] == 2 and len(listed["items"]) == 1 and listed["next_cursor"]


def test_junit_export_and_import(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c, h = live_client, live_as_role("editor")
    project = make_project(c, h, project_dir)
    ids = [add_test(c, h, project["id"], PASS, title="a"),
           add_test(c, h, project["id"], FAIL, title="b")]
    plan = wait_plan(c, h, queue_plan(c, h, project["id"], ids)["id"])

    xml = c.get(f"/api/v1/execution/plans/{plan['id']}/junit", headers=h)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert b'tests="2"' in xml.content and b'failures="1"' in xml.content
    assert b"assert [1, 2] == [1, 3]" in xml.content

    imported = c.post(f"/api/v1/projects/{project['id']}/results/junit", headers=h,
                      content=xml.content)
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["trigger"] == "import" and body["status"] == "failed"
    assert body["counts"]["passed"] == 1 and body["counts"]["failed"] == 1

    bad = c.post(f"/api/v1/projects/{project['id']}/results/junit", headers=h,
                 content=b"<html>nope</html>")
    assert bad.status_code == 422 and "JUnit" in bad.json()["detail"]


def test_metrics_health_and_prometheus(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c, h = live_client, live_as_role("editor")
    project = make_project(c, h, project_dir)
    wait_plan(c, h, queue_plan(c, h, project["id"], [add_test(c, h, project["id"], PASS)])["id"])

    m = c.get("/api/v1/execution/metrics").json()  # public by default
    assert m["orchestrator_status"] == "healthy"
    assert m["completed_tests"] == 1 and m["passed"] == 1 and m["queued_tests"] == 0
    assert m["dispatch_latency_ms"]["p50"] is not None
    settings = c.app.state.ctx.settings  # type: ignore[attr-defined]
    if settings.executor == "local":
        assert m["workers_total"] == settings.workers
    else:  # Celery: the fixture waited until the server had registered its workers
        assert m["workers_total"] >= 1
    assert m["last_heartbeat"] and m["uptime_s"] >= 0

    health = c.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["orchestrator"]["running"] is True
    assert health["orchestrator"]["restarts"] == 0

    envs = c.get("/api/v1/environments", headers=live_as_role("viewer")).json()
    if c.app.state.ctx.settings.executor == "local":  # type: ignore[attr-defined]
        # (with Celery, environments live on the workers, not on this server)
        # The cache is shared by the session: other tests leave failed builds in it.
        assert any(e["state"] in ("ready", "leased") for e in envs), envs
        assert all(e["key"] and e["python_version"].startswith("3.") for e in envs)

    text = c.get("/metrics").text
    assert 'assay_test_results_total{outcome="passed"} 1' in text
    assert "assay_orchestrator_up 1" in text
