"""Dispatch: immediate (event-driven), by priority then age; cancel and timeouts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.api.app import create_app
from assay.config import Settings
from tests.conftest import _headers_factory, make_project
from tests.execution.helpers import (
    add_test,
    processes_with,
    queue_plan,
    wait_plan,
    wait_run_status,
)
from tests.gates import Gate

PASS = "def test_ok():\n    assert True\n"


Client = tuple[TestClient, Callable[[str], dict[str, str]]]


def _one_slot(settings: Settings, test_timeout_s: float) -> Iterator[Client]:
    s = settings.model_copy(update={"workers": 1, "reconcile_seconds": 3600.0,
                                    "test_timeout_seconds": test_timeout_s})
    with TestClient(create_app(s)) as c:
        yield c, _headers_factory(c)


@pytest.fixture
def one_slot(settings: Settings) -> Iterator[Client]:
    """One worker slot and no reconcile pass in sight: only wake-ups can dispatch."""
    yield from _one_slot(settings, test_timeout_s=3.0)


@pytest.fixture
def one_gated_slot(settings: Settings) -> Iterator[Client]:
    """`one_slot` whose tests may hold the slot (a gate) as long as the test driving
    them needs: the per-test timeout is far away."""
    yield from _one_slot(settings, test_timeout_s=180.0)


def gate_for(c: TestClient) -> Gate:
    """A gate for tests run by this app's own (local) executor."""
    return Gate(c.app.state.ctx.settings.workspaces_dir)  # type: ignore[attr-defined]


def test_new_plan_starts_without_waiting_for_reconcile(
    one_slot: Client, project_dir: Path
) -> None:
    c, as_role = one_slot
    h = as_role("editor")
    project = make_project(c, h, project_dir)
    ids = [add_test(c, h, project["id"], PASS)]
    wait_plan(c, h, queue_plan(c, h, project["id"], ids)["id"])  # warm the environment

    # The reconcile pass is an hour away: a plan that finishes within minutes was
    # dispatched by the plan.queued wake-up (the bound is loose on purpose: it only has
    # to be far below 3600 s, not tight on a loaded machine).
    plan = wait_plan(c, h, queue_plan(c, h, project["id"], ids)["id"], timeout=300)
    assert plan["status"] == "passed"


def test_priority_then_age(one_gated_slot: Client, project_dir: Path) -> None:
    c, as_role = one_gated_slot
    h = as_role("editor")
    project = make_project(c, h, project_dir)
    gate = gate_for(c)
    blocker = add_test(c, h, project["id"], gate.code("test_block"))
    quick = add_test(c, h, project["id"], PASS)
    queue_plan(c, h, project["id"], [blocker], name="blocker")
    gate.wait_started()  # the only slot is busy until the gate is released
    # While it is, queue in an order that differs from priority order.
    low = queue_plan(c, h, project["id"], [quick], priority="low", name="low")
    medium_1 = queue_plan(c, h, project["id"], [quick], priority="medium", name="medium-1")
    critical = queue_plan(c, h, project["id"], [quick], priority="critical", name="critical")
    medium_2 = queue_plan(c, h, project["id"], [quick], priority="medium", name="medium-2")
    gate.release()

    order = [low, medium_1, critical, medium_2]
    finished = [wait_plan(c, h, p["id"]) for p in order]
    by_start = sorted(finished, key=lambda p: p["started_at"])
    assert [p["name"] for p in by_start] == ["critical", "medium-1", "medium-2", "low"]


def test_cancel_kills_the_whole_process_tree(
    one_slot: tuple[TestClient, Callable[[str], dict[str, str]]], project_dir: Path
) -> None:
    c, as_role = one_slot
    h = as_role("editor")
    project = make_project(c, h, project_dir)
    marker = f"assay-cancel-{uuid.uuid4().hex}"
    code = (
        "import os, subprocess, sys, time\n\n\n"
        "def test_sleeps_with_children():\n"
        "    # a grandchild that escapes the process group with setsid\n"
        f"    subprocess.Popen(['setsid', sys.executable, '-c', 'import time; time.sleep(300)',"
        f" '{marker}'])\n"
        "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)',"
        f" '{marker}'])\n"
        "    time.sleep(300)\n"
    )
    plan = queue_plan(c, h, project["id"], [add_test(c, h, project["id"], code)])
    wait_run_status(c, h, plan["id"], "running")
    deadline = time.monotonic() + 60
    while len(processes_with(marker)) < 2:
        assert time.monotonic() < deadline, "the test's children never started"
        time.sleep(0.05)

    r = c.post(f"/api/v1/execution/plans/{plan['id']}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    deadline = time.monotonic() + 60
    while processes_with(marker):
        assert time.monotonic() < deadline, f"orphans survived cancel: {processes_with(marker)}"
        time.sleep(0.05)
    final = wait_plan(c, h, plan["id"])
    assert final["status"] == "cancelled"
    assert [r["status"] for r in final["runs"]] == ["cancelled"]
    again = c.post(f"/api/v1/execution/plans/{plan['id']}/cancel", headers=h)
    assert again.status_code == 409


def test_cancel_a_queued_plan(one_gated_slot: Client, project_dir: Path) -> None:
    c, as_role = one_gated_slot
    h = as_role("editor")
    project = make_project(c, h, project_dir)
    gate = gate_for(c)
    running = queue_plan(c, h, project["id"], [add_test(c, h, project["id"], gate.code())])
    gate.wait_started()  # holds the only slot: the next plan stays queued
    waiting = queue_plan(c, h, project["id"], [add_test(c, h, project["id"], PASS)])
    r = c.post(f"/api/v1/execution/plans/{waiting['id']}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    gate.release()
    assert wait_plan(c, h, running["id"])["status"] == "passed"
    final = wait_plan(c, h, waiting["id"])
    assert final["status"] == "cancelled" and final["started_at"] is None


def test_per_test_timeout_fails_that_test_and_the_batch_goes_on(
    one_slot: tuple[TestClient, Callable[[str], dict[str, str]]], project_dir: Path
) -> None:
    c, as_role = one_slot
    h = as_role("editor")
    project = make_project(c, h, project_dir)
    hang = add_test(c, h, project["id"], "def test_forever():\n    while True:\n        pass\n",
                    title="hangs")
    after = add_test(c, h, project["id"], PASS, title="after")
    plan = wait_plan(c, h, queue_plan(c, h, project["id"], [hang, after])["id"], timeout=90)
    runs = {r["name"]: r for r in plan["runs"]}
    assert runs["hangs"]["status"] in ("failed", "error")
    assert "timed out" in runs["hangs"]["failure"]
    assert runs["after"]["status"] == "passed"
