"""A server killed with SIGKILL mid-run loses nothing and records nothing twice."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.conftest import ADMIN_PASSWORD
from tests.gates import Gate
from tests.servers import ServerProcess, wait_final

pytestmark = pytest.mark.slow


def test_kill_9_mid_run_then_restart(
    db_url: str, data_dir: Path, env_cache: Path, project_dir: Path
) -> None:
    # Every test holds its slot until released: at the kill, work is under way for sure.
    gate = Gate(data_dir)
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
                "project_id": project["id"], "title": f"step {i}",
                "code": gate.code(f"test_step_{i}")})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        plans = [api.post("/execution/plans", json={
            "project_id": project["id"], "test_case_ids": ids}).json()["id"] for _ in range(4)]

        # Both slots are inside a test (in the sandbox): pull the plug.
        gate.wait_started(count=2)
        server.kill9()
    finally:
        server.stop()

    server = ServerProcess(data_dir, db_url, env_cache, ADMIN_PASSWORD,
                           ASSAY_WORKERS="2", ASSAY_LEASE_SECONDS="10").start()
    try:
        token = server.login("admin", ADMIN_PASSWORD)
        api = server.client(token)
        with gate.releasing():  # from now on every test, run again or not, may finish
            finals = [wait_final(api, p, timeout=120) for p in plans]
        failures = [(r["name"], r["start"], r["failure"]) for p in finals for r in p["runs"]
                    if r["status"] != "passed"]
        assert [p["status"] for p in finals] == ["passed"] * 4, (failures, server.log())
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
        server.stop()  # SIGTERM, and wait for the process to exit
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    log = server.log()
    # It exited on the SIGTERM itself (uvicorn re-raises it after a clean shutdown),
    # not on the SIGKILL that `stop()` falls back to.
    assert server.proc is not None and server.proc.returncode in (0, -signal.SIGTERM), log
    assert "Test execution orchestrator stopped" in log
    # "Promptly" is the event, not a duration: uvicorn logs this line when an open
    # connection made it wait out its whole graceful-shutdown timeout (15 s).
    assert "Shutting down" in log  # (uvicorn's shutdown messages do reach this log)
    assert "timeout graceful shutdown exceeded" not in log, "an open WebSocket held the stop"
