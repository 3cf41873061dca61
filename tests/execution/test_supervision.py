"""The orchestrator is supervised: crashes restart it, an admin restart loses nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.orchestrator import queue
from tests.conftest import make_project
from tests.execution.helpers import add_test, queue_plan, wait_plan, wait_run_status

PASS = "def test_ok():\n    assert True\n"


def test_a_crashing_loop_is_restarted_and_keeps_dispatching(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c, h = live_client, live_as_role("editor")
    project = make_project(c, h, project_dir)
    test_id = add_test(c, h, project["id"], PASS)

    # Fault injection: the next claim raises, as a dropped database connection would.
    real_claim = queue.claim_next
    failures = {"left": 1}

    def flaky_claim(*args: object, **kwargs: object) -> object:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("injected: database connection lost")
        return real_claim(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(queue, "claim_next", flaky_claim)
    plan = queue_plan(c, h, project["id"], [test_id])
    assert wait_plan(c, h, plan["id"], timeout=60)["status"] == "passed"

    health = c.get("/api/v1/health").json()["orchestrator"]
    assert health["restarts"] == 1 and health["running"] is True
    assert "injected" in health["last_crash"]
    assert c.get("/api/v1/execution/metrics").json()["orchestrator_status"] == "healthy"


def test_restart_is_admin_only_and_loses_no_running_work(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c = live_client
    editor, admin = live_as_role("editor"), live_as_role("admin")
    project = make_project(c, editor, project_dir)
    marker = uuid.uuid4().hex
    slow = add_test(c, editor, project["id"],
                    f"import time\n\n\ndef test_slow():\n    # {marker}\n    time.sleep(2)\n")
    plan = queue_plan(c, editor, project["id"], [slow, add_test(c, editor, project["id"], PASS)])
    wait_run_status(c, editor, plan["id"], "running")

    assert c.post("/api/v1/execution/orchestrator/restart", headers=editor).status_code == 403
    assert c.post("/api/v1/execution/orchestrator/restart").status_code == 401
    r = c.post("/api/v1/execution/orchestrator/restart", headers=admin)
    assert r.status_code == 200 and r.json()["orchestrator"]["running"] is True

    final = wait_plan(c, editor, plan["id"], timeout=90)
    assert final["status"] == "passed"
    assert c.get("/api/v1/health").json()["orchestrator"]["restarts"] == 1
    # Each test recorded once: exactly one test.finished event per run.
    events = _events(c, admin)
    finished = [e["payload"]["run_id"] for e in events if e["type"] == "test.finished"]
    assert sorted(finished) == sorted(r["id"] for r in final["runs"])


def test_poll_runs_a_reconcile_pass(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c, h = live_client, live_as_role("editor")
    r = c.post("/api/v1/execution/orchestrator/poll", headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["detected_plans"] == [] and body["queue"]["queued_plans"] == 0
    assert c.post("/api/v1/execution/orchestrator/poll",
                  headers=live_as_role("viewer")).status_code == 403


def test_start_starts_a_stopped_orchestrator(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c, h = live_client, live_as_role("editor")
    project = make_project(c, h, project_dir)
    test_id = add_test(c, h, project["id"], PASS)
    supervisor = c.app.state.ctx.supervisor  # type: ignore[attr-defined]
    c.portal.call(supervisor.stop)  # type: ignore[union-attr]
    metrics = c.get("/api/v1/execution/metrics").json()
    assert metrics["orchestrator_status"] == "stopped"

    r = c.post("/api/v1/execution/start", headers=h,
               json={"project_id": project["id"], "test_case_ids": [test_id]})
    assert r.status_code == 201, r.text
    assert r.json()["orchestrator"]["running"] is True
    assert wait_plan(c, h, r.json()["plan"]["id"])["status"] == "passed"


def _events(c: TestClient, h: dict[str, str]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    token = h["Authorization"].split()[1]
    with c.websocket_connect(f"/api/v1/ws?token={token}&since=0") as ws:
        while True:
            msg = ws.receive_json()
            if msg["type"] == "caught_up":
                return out
            if "." in msg["type"]:
                out.append(msg)
