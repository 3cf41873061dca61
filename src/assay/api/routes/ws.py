"""`WS /api/v1/ws`: live events, with replay of what a reconnecting client missed.

Protocol: authenticate with `?token=` or a first message `{"token": ...}` (a bad
token closes with 4401). Every message is a JSON object with a `type`. Events are
sent as stored: `{"seq", "type": "plan.queued", "plan_id", "project_id", "payload",
"created_at"}` — event types always contain a dot. Control messages have no dot:
`{"type": "hello", "seq"}` first, `{"type": "caught_up", "seq"}` after the replay,
and `{"type": "ping", "seq"}` when idle. With `?since=<seq>` the server first replays every event
after that sequence number from the events table, then streams live ones; each
event carries its `seq`, so the client resumes from the last one it saw. The
server subscribes to the live bus *before* replaying and drops duplicates by seq,
so nothing falls between replay and live delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from assay.api.deps import authenticate, record_token_use
from assay.contracts.ws import Auth, CaughtUp, Control, Hello, Ping
from assay.events import store
from assay.events.bus import SHUTDOWN

router = APIRouter()

PING_SECONDS = 20.0
REPLAY_PAGE = 1000
MAX_SEQ = 2**63 - 1
"""Event sequence numbers are BIGINT; a larger `since` could not even be compared in SQL."""


@router.websocket("/ws")
async def events_socket(
    ws: WebSocket,
    token: str | None = None,
    since: int | None = Query(None, ge=0, le=MAX_SEQ),
    plan_id: str | None = None,
) -> None:
    ctx = ws.app.state.ctx
    await ws.accept()
    if token is None:
        try:
            first = await asyncio.wait_for(ws.receive_text(), timeout=10)
            token = Auth.model_validate_json(first).token
        except (TimeoutError, ValidationError, WebSocketDisconnect):
            token = None
    if not token or not await asyncio.to_thread(_authenticated, ctx, token):
        await ws.close(code=4401, reason="invalid or missing token")
        return

    # A reader runs beside the stream: it notices a closed tab at once (and the
    # subscription is dropped), instead of at the next send.
    reader = asyncio.create_task(_until_disconnect(ws))
    try:
        await _stream(ws, ctx, since, plan_id, reader)
    finally:
        reader.cancel()
        with contextlib.suppress(Exception):
            await ws.close()


async def _until_disconnect(ws: WebSocket) -> None:
    """Consume client messages (none are expected after auth) until the client leaves."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass


async def _next_event(sub: Any, reader: asyncio.Task[None]) -> Any:
    """The next bus event; TimeoutError when idle for a ping; GONE when the client left."""
    if not sub.queue.empty():  # the common case under load: no task, no wait
        return sub.queue.get_nowait()
    getter = asyncio.ensure_future(sub.get())
    done, _ = await asyncio.wait({getter, reader}, timeout=PING_SECONDS,
                                 return_when=asyncio.FIRST_COMPLETED)
    if getter in done:
        return getter.result()
    getter.cancel()
    if reader in done:
        return GONE
    raise TimeoutError


GONE = object()


async def _send(ws: WebSocket, message: Control) -> None:
    await ws.send_text(message.model_dump_json())


async def _stream(
    ws: WebSocket, ctx: Any, since: int | None, plan_id: str | None, reader: asyncio.Task[None]
) -> None:
    sub = ctx.bus.subscribe()
    try:
        last = since if since is not None else await asyncio.to_thread(_last_seq, ctx)
        await _send(ws, Hello(seq=last, replaying=since is not None))
        last = await _replay(ws, ctx, last, plan_id)
        await _send(ws, CaughtUp(seq=last))
        while True:
            try:
                event = await _next_event(sub, reader)
            except TimeoutError:
                await _send(ws, Ping(seq=last))
                continue
            if event is GONE:
                return
            if event is SHUTDOWN:
                await ws.close(code=1012, reason="server restarting; reconnect with since")
                return
            if event is None:  # we fell behind: resync from the table
                sub.close()
                sub = ctx.bus.subscribe()
                last = await _replay(ws, ctx, last, plan_id)
                continue
            if event["seq"] <= last:
                continue
            if event["seq"] > last + 1:
                # An event committed between two we saw was published out of order
                # (another server): read the gap from the table so order holds.
                last = await _replay(ws, ctx, last, plan_id, upto=event["seq"] - 1)
            last = event["seq"]
            if plan_id and event.get("plan_id") != plan_id:
                continue
            await ws.send_text(ctx.bus.encoded(event))
    except (WebSocketDisconnect, RuntimeError):
        return  # the client left while we were sending
    finally:
        sub.close()


def _authenticated(ctx: Any, token: str) -> bool:
    user, stale = authenticate(ctx, token)
    if stale is not None:
        record_token_use(ctx, stale)
    return user is not None


def _last_seq(ctx: Any) -> int:
    with ctx.db.session(readonly=True) as session:
        return store.last_seq(session)


async def _replay(
    ws: WebSocket, ctx: Any, last: int, plan_id: str | None, upto: int | None = None
) -> int:
    while True:

        def page(after: int = last) -> list[dict[str, Any]]:
            with ctx.db.session() as session:
                return store.replay(session, after, None, REPLAY_PAGE)

        rows = await asyncio.to_thread(page)
        if upto is not None:
            rows = [r for r in rows if r["seq"] <= upto]
        for row in rows:
            last = row["seq"]
            if plan_id and row.get("plan_id") != plan_id:
                continue
            await ws.send_text(ctx.bus.encoded(row))
        if len(rows) < REPLAY_PAGE:
            return last
