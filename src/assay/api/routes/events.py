"""`GET /api/v1/events`: the event log by sequence, for clients that cannot hold a socket.

The same events, in the same order, as `WS /api/v1/ws` replays and streams (a CLI
following a plan, a script in CI). Each payload is the contract's model for its
type (`assay.contracts.events`), so the schema lists every event and its fields.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query
from pydantic import BaseModel

from assay.api.deps import Ctx, Viewer
from assay.api.errors import ROLE, errors
from assay.api.routes.ws import MAX_SEQ
from assay.contracts.events import EventEnvelope, parse_payload
from assay.events import store

router = APIRouter(prefix="/events", tags=["events"])

MAX_EVENTS = 1000


class EventLog(BaseModel):
    """Events after `since`, oldest first; `last_seq` is where to resume."""

    items: list[EventEnvelope]
    last_seq: int


@router.get(
    "",
    response_model=EventLog,
    responses=errors(*ROLE, 422),
)
async def list_events(
    _: Viewer,
    ctx: Ctx,
    since: int = Query(0, ge=0, le=MAX_SEQ, description="Events after this sequence number."),
    plan_id: str | None = Query(None, max_length=64, description="Only this plan's events."),
    limit: int = Query(100, ge=1, le=MAX_EVENTS, description="At most this many events."),
) -> EventLog:
    """Every event after `since` (optionally one plan's), at most `limit` of them."""

    def read() -> EventLog:
        with ctx.db.session() as session:
            rows = store.replay(session, since, plan_id, limit)
        items = [EventEnvelope.model_validate({**row, "payload": parse_payload(
            row["type"], row["payload"])}) for row in rows]
        return EventLog(items=items, last_seq=items[-1].seq if items else since)

    return await asyncio.to_thread(read)
