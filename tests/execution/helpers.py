"""Helpers for execution tests: write tests, queue plans, wait for them to finish."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

FINAL = {"passed", "failed", "error", "cancelled"}


def add_test(c: TestClient, h: dict[str, str], project_id: str, code: str, **fields: Any) -> str:
    body = {"project_id": project_id, "title": fields.pop("title", "t"), "code": code, **fields}
    r = c.post("/api/v1/tests", headers=h, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def queue_plan(c: TestClient, h: dict[str, str], project_id: str, ids: list[str],
               priority: str = "medium", name: str = "") -> dict[str, Any]:
    r = c.post("/api/v1/execution/plans", headers=h,
               json={"project_id": project_id, "test_case_ids": ids, "priority": priority,
                     "name": name})
    assert r.status_code == 201, r.text
    return dict(r.json())


def wait_plan(c: TestClient, h: dict[str, str], plan_id: str, timeout: float = 120,
              until: set[str] | None = None) -> dict[str, Any]:
    until = until or FINAL
    deadline = time.monotonic() + timeout
    while True:
        plan = c.get(f"/api/v1/execution/plans/{plan_id}", headers=h).json()
        if plan["status"] in until:
            return dict(plan)
        assert time.monotonic() < deadline, f"plan stuck in {plan['status']}: {plan}"
        time.sleep(0.05)


def wait_run_status(c: TestClient, h: dict[str, str], plan_id: str, status: str,
                    timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        plan = c.get(f"/api/v1/execution/plans/{plan_id}", headers=h).json()
        if any(r["status"] == status for r in plan["runs"]):
            return dict(plan)
        assert time.monotonic() < deadline, f"no run reached {status}: {plan}"
        time.sleep(0.05)


def processes_with(marker: str) -> list[int]:
    """PIDs whose command line contains `marker` (to prove a process tree is gone)."""
    from pathlib import Path

    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            pids.append(int(proc.name))
    return pids
