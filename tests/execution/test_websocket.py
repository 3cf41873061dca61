"""WebSocket events: authenticated, live, and replayable with `since`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.conftest import make_project
from tests.execution.helpers import add_test, queue_plan, wait_plan

PASS = "def test_ok():\n    assert True\n"


def _token(h: dict[str, str]) -> str:
    return h["Authorization"].split()[1]


def _read_until(ws: Any, stop: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    events = []
    while True:
        msg = ws.receive_json()
        if "." in msg["type"]:
            events.append(msg)
        if stop(msg):
            return events


def test_bad_token_closes_with_4401(live_client: TestClient) -> None:
    with live_client.websocket_connect("/api/v1/ws?token=nope") as ws, pytest.raises(
        WebSocketDisconnect
    ) as exc:
        ws.receive_json()
    assert exc.value.code == 4401


def test_token_in_first_message(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]]
) -> None:
    with live_client.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"token": _token(live_as_role("viewer"))})
        assert ws.receive_json()["type"] == "hello"


def test_reconnect_with_since_sees_exactly_the_missed_events(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c, h = live_client, live_as_role("editor")
    token = _token(h)
    project = make_project(c, h, project_dir)
    ids = [add_test(c, h, project["id"], PASS) for _ in range(3)]

    with c.websocket_connect(f"/api/v1/ws?token={token}") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello"
        start_seq = hello["seq"]
        first = queue_plan(c, h, project["id"], ids)
        seen = _read_until(ws, lambda m: m["type"] == "plan.finished")
    # Disconnected: this whole plan happens while the client is away.
    last_seen = seen[-1]["seq"]
    second = queue_plan(c, h, project["id"], ids)
    wait_plan(c, h, second["id"])

    with c.websocket_connect(f"/api/v1/ws?token={token}&since={last_seen}") as ws:
        assert ws.receive_json()["type"] == "hello"
        missed = _read_until(ws, lambda m: m["type"] == "caught_up")

    with c.websocket_connect(f"/api/v1/ws?token={token}&since={start_seq}") as ws:
        ws.receive_json()
        everything = _read_until(ws, lambda m: m["type"] == "caught_up")

    combined = seen + missed
    assert [e["seq"] for e in combined] == [e["seq"] for e in everything]
    assert len({e["seq"] for e in combined}) == len(combined)  # no duplicates
    kinds = [e["type"] for e in missed if e["plan_id"] == second["id"]]
    assert kinds[0] == "plan.queued" and kinds[-1] == "plan.finished"
    assert kinds.count("test.finished") == 3
    assert {e["plan_id"] for e in seen if e["plan_id"]} == {first["id"]}


def test_plan_filter(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]], project_dir: Path
) -> None:
    c, h = live_client, live_as_role("editor")
    project = make_project(c, h, project_dir)
    ids = [add_test(c, h, project["id"], PASS)]
    a = queue_plan(c, h, project["id"], ids)
    b = queue_plan(c, h, project["id"], ids)
    wait_plan(c, h, a["id"])
    wait_plan(c, h, b["id"])
    with c.websocket_connect(f"/api/v1/ws?token={_token(h)}&since=0&plan_id={b['id']}") as ws:
        ws.receive_json()
        events = _read_until(ws, lambda m: m["type"] == "caught_up")
    assert events and {e["plan_id"] for e in events} == {b["id"]}


def test_a_closed_client_is_dropped_at_once(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]]
) -> None:
    import time

    bus = live_client.app.state.ctx.bus  # type: ignore[attr-defined]
    before = bus.subscribers
    with live_client.websocket_connect(
        f"/api/v1/ws?token={_token(live_as_role('viewer'))}"
    ) as ws:
        assert ws.receive_json()["type"] == "hello"
        assert bus.subscribers == before + 1
    # Generous for a loaded machine, and still below the 20 s ping interval that would
    # otherwise be how a real server notices (the TestClient sends no pings at all:
    # without the fix the subscription would stay until the app stops).
    deadline = time.monotonic() + 15
    while bus.subscribers != before:
        assert time.monotonic() < deadline, "the subscription outlived its socket"
        time.sleep(0.02)
