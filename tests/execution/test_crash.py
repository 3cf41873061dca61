"""A server killed with SIGKILL mid-run loses nothing and records nothing twice."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.conftest import ADMIN_PASSWORD
from tests.servers import ServerProcess, wait_final

pytestmark = pytest.mark.slow


def test_kill_9_mid_run_then_restart(
    db_url: str, data_dir: Path, env_cache: Path, project_dir: Path
) -> None:
    server = ServerProcess(data_dir, db_url, env_cache, ADMIN_PASSWORD,
                           ASSAY_WORKERS="2", ASSAY_LEASE_SECONDS="10").start()
    try:
        token = server.login("admin", ADMIN_PASSWORD)
        api = server.client(token)
        project = api.post("/projects", json={
            "name": "crashy", "source": {"type": "path", "path": str(project_dir)}}).json()
        ids = []
        for i in range(4):
            r = api.post("/tests", json={
                "project_id": project["id"], "title": f"sleep {i}",
                "code": f"import time\n\n\ndef test_sleep_{i}():\n    time.sleep(0.4)\n"})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        plans = [api.post("/execution/plans", json={
            "project_id": project["id"], "test_case_ids": ids}).json()["id"] for _ in range(4)]

        # Wait until work is really under way, then pull the plug.
        deadline = time.monotonic() + 60
        while api.get("/execution/metrics").json()["running_tests"] == 0:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
        server.kill9()
    finally:
        server.stop()

    server = ServerProcess(data_dir, db_url, env_cache, ADMIN_PASSWORD,
                           ASSAY_WORKERS="2", ASSAY_LEASE_SECONDS="10").start()
    try:
        token = server.login("admin", ADMIN_PASSWORD)
        api = server.client(token)
        finals = [wait_final(api, p, timeout=120) for p in plans]
        assert [p["status"] for p in finals] == ["passed"] * 4, server.log()
        for plan in finals:
            assert all(r["status"] == "passed" for r in plan["runs"])

        # Every run's result was recorded exactly once, across both server lives.
        ws_url = server.url.replace("http", "ws") + f"/api/v1/ws?token={token}&since=0"
        finished: Counter[str] = Counter()
        with connect(ws_url) as ws:
            while True:
                import json

                msg = json.loads(ws.recv(timeout=30))
                if msg["type"] == "caught_up":
                    break
                if msg["type"] == "test.finished":
                    finished[msg["payload"]["run_id"]] += 1
        all_runs = [r["id"] for p in finals for r in p["runs"]]
        assert sorted(finished) == sorted(all_runs)
        assert set(finished.values()) == {1}
        assert any(p["attempts"] >= 2 for p in finals), "no plan was interrupted by the crash"
    finally:
        server.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sigterm_closes_live_sockets_and_stops_promptly(
    db_url: str, data_dir: Path, env_cache: Path
) -> None:
    import json

    from websockets.exceptions import ConnectionClosed

    server = ServerProcess(data_dir, db_url, env_cache, ADMIN_PASSWORD).start()
    token = server.login("admin", ADMIN_PASSWORD)
    with connect(server.url.replace("http", "ws") + f"/api/v1/ws?token={token}") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 10, "an open WebSocket held the stop"
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert "Test execution orchestrator stopped" in server.log()
