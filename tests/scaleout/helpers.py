"""Small API helpers shared by the scale-out tests (work with TestClient and httpx)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

API = "/api/v1"
FINAL = {"passed", "failed", "error", "cancelled"}


class Client(Protocol):
    def get(self, url: str, **kw: Any) -> Any: ...
    def post(self, url: str, **kw: Any) -> Any: ...


def make_project(c: Client, headers: dict[str, str], path: Path, name: str) -> str:
    r = c.post(f"{API}/projects", headers=headers,
               json={"name": name, "source": {"type": "path", "path": str(path)}})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def add_test(c: Client, headers: dict[str, str], project_id: str, title: str,
             code: str | None = None, reference: str | None = None) -> str:
    body: dict[str, Any] = {"project_id": project_id, "title": title}
    body.update({"code": code} if code is not None else {"reference": reference})
    r = c.post(f"{API}/tests", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def create_plan(c: Client, headers: dict[str, str], project_id: str, case_ids: list[str],
                priority: str = "medium") -> str:
    r = c.post(f"{API}/execution/plans", headers=headers,
               json={"project_id": project_id, "test_case_ids": case_ids, "priority": priority})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def plan(c: Client, headers: dict[str, str], plan_id: str) -> dict[str, Any]:
    r = c.get(f"{API}/execution/plans/{plan_id}", headers=headers)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def wait_plan(c: Client, headers: dict[str, str], plan_id: str,
              timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = plan(c, headers, plan_id)
        if body["status"] in FINAL:
            return body
        time.sleep(0.2)
    raise AssertionError(f"plan {plan_id} did not finish: {plan(c, headers, plan_id)}")


def wait_for(predicate: Any, timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def runs_by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"].split("::")[-1]: r for r in body["runs"]}
