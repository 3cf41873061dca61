"""Two `assay serve` processes on one PostgreSQL, two Celery workers, many plans.

Each server runs its own orchestrator. Claims are exclusive (FOR UPDATE SKIP
LOCKED), wake-ups and live events cross servers through Redis, and workers fetch
snapshots from whichever server dispatched the job, over HTTP with a job token.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from websockets.sync.client import connect

from tests.scaleout.conftest import Fleet, Server, admin_headers, events_of
from tests.scaleout.helpers import API, add_test, create_plan, make_project

pytestmark = pytest.mark.slow

PLANS = int(os.environ.get("ASSAY_TEST_SCALEOUT_PLANS", "60"))  # bench/scaleout.py does 1,000


class Listener(threading.Thread):
    """A WebSocket client that records every event it is sent."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url = base_url.replace("http://", "ws://") + f"{API}/ws?token={token}&since=0"
        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        with connect(self.url, open_timeout=10) as ws:
            while not self.stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if message["type"] == "caught_up":
                    self.ready.set()
                elif "seq" in message and message["type"] not in ("hello", "ping"):
                    self.events.append(message)  # an event: its own type replaces "event"


def timeline(events: list[dict[str, Any]]) -> str:
    """Median seconds from plan.queued to each later event type (for the log)."""
    queued = {e["plan_id"]: e["created_at"] for e in events if e["type"] == "plan.queued"}
    gaps: dict[str, list[float]] = {}
    for e in events:
        if e["plan_id"] in queued:
            gaps.setdefault(e["type"], []).append(
                (e["created_at"] - queued[e["plan_id"]]).total_seconds())
    return ", ".join(f"{k} {sorted(v)[len(v) // 2]:.3f}s" for k, v in gaps.items())


def unfinished(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM execution_plans WHERE status IN ('queued', 'running')"
            )).scalar_one())
    finally:
        engine.dispose()


def test_two_servers_two_workers_many_plans(
    fleet: Fleet, start_server: Callable[..., Server], pg_url: str, sample_project: Path,
) -> None:
    fleet.start(concurrency=1, wait=False)
    fleet.start(concurrency=1, wait=False)
    a = start_server(pg_url)
    b = start_server(pg_url)
    for worker in fleet.workers:
        fleet.wait_ready(worker)
    headers = admin_headers(a.url)
    ca, cb = httpx.Client(base_url=a.url, timeout=30), httpx.Client(base_url=b.url, timeout=30)
    listener = Listener(a.url, headers["Authorization"].split()[1])
    listener.start()
    assert listener.ready.wait(60), "the WebSocket on server A did not catch up"

    project = make_project(ca, headers, sample_project, "fleet")
    case = add_test(cb, headers, project, "ok", code="def test_ok():\n    assert 1 + 1 == 2\n")
    created: dict[str, str] = {}
    for n in range(PLANS):
        client, name = (ca, "a") if n % 2 == 0 else (cb, "b")
        created[create_plan(client, headers, project, [case])] = name

    deadline = time.monotonic() + 240
    while unfinished(pg_url) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert unfinished(pg_url) == 0, f"plans left unfinished\nA:\n{a.tail()}\nB:\n{b.tail()}"

    events = events_of(pg_url, list(created))
    kinds = Counter((e["plan_id"], e["type"]) for e in events)
    owners = Counter(e["payload"]["owner"] for e in events if e["type"] == "plan.started")
    for plan_id in created:
        assert kinds[(plan_id, "plan.started")] == 1, f"{plan_id} dispatched more than once"
        assert kinds[(plan_id, "plan.requeued")] == 0
        assert kinds[(plan_id, "test.finished")] == 1
    finished = {e["plan_id"]: e["payload"]["status"]
                for e in events if e["type"] == "plan.finished"}
    assert set(finished) == set(created) and set(finished.values()) == {"passed"}
    assert len(owners) == 2, f"both orchestrators should dispatch: {owners}"
    print(timeline(events))

    # The WebSocket client on A saw everything, including what B created and ran.
    wait_seq = max(e["seq"] for e in events)
    deadline = time.monotonic() + 60
    while (not listener.events or listener.events[-1]["seq"] < wait_seq) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    listener.stop.set()
    listener.join(5)
    seen = [e["seq"] for e in listener.events]
    assert seen == sorted(set(seen)) and seen[-1] >= wait_seq
    assert seen == list(range(seen[0], seen[-1] + 1)), "the stream has a gap"
    on_a = {(e["plan_id"], e["type"]) for e in listener.events}
    for plan_id, where in created.items():
        if where == "b":
            assert (plan_id, "plan.queued") in on_a and (plan_id, "plan.finished") in on_a

    # Workers fetched snapshots over HTTP (they do not trust local paths here).
    fetched = [w for w in fleet.workers if any((w.data_dir / "snapshots").glob("*"))]
    assert fetched, "no worker fetched a snapshot"
    ca.close()
    cb.close()
