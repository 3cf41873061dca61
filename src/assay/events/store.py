"""Appending events in the writer's transaction, and replaying them by sequence.

An event is written in the same transaction as the change it describes, so the log
never claims something that was rolled back. Once the transaction commits, the
session hands its events to the bus (see `install_publisher`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from assay.contracts.events import EventPayload
from assay.db.base import Base, utcnow
from assay.db.models import Event
from assay.events.bus import EventBus

PENDING = "assay.pending_events"
LOCKED = "assay.events_locked"
EVENTS = Base.metadata.tables[Event.__tablename__]


def event_dict(row: Event) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "type": row.type,
        "plan_id": row.plan_id,
        "project_id": row.project_id,
        "payload": row.payload,
        "created_at": row.created_at.isoformat(),
    }


def append(
    session: Session,
    payload: EventPayload,
    *,
    plan_id: str | None = None,
    project_id: str | None = None,
) -> dict[str, Any]:
    """Add an event to the session's transaction; it is published after commit.

    `payload` is one of the contract's event models (`assay.contracts.events`): its
    `type` is the event's type, and what is stored is what a consumer will parse.
    """
    bind = session.get_bind()
    transaction = session.get_transaction()
    if bind.dialect.name == "postgresql" and session.info.get(LOCKED) is not transaction:
        # Serialize event writers until commit, so sequence order is commit order and a
        # client replaying "since N" can never miss an event that commits later with a
        # smaller number. (SQLite already serializes writers.) Once per transaction.
        session.execute(text("SELECT pg_advisory_xact_lock(7317)"))
        session.info[LOCKED] = transaction
    # Core, not the ORM: a batch of 10,000 results writes 20,000 events, and the unit
    # of work's flush per row was most of the writer's time.
    created = utcnow()
    row = {"type": payload.type, "payload": payload.model_dump(mode="json"),
           "plan_id": plan_id, "project_id": project_id}
    seq = session.execute(insert(EVENTS).values(**row, created_at=created)
                          .returning(EVENTS.c.seq)).scalar_one()
    stored = {"seq": seq, **row, "created_at": created.isoformat()}
    session.info.setdefault(PENDING, []).append(stored)
    return stored


def replay(
    session: Session, since: int, plan_id: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    stmt = select(Event).where(Event.seq > since)
    if plan_id:
        stmt = stmt.where(Event.plan_id == plan_id)
    return [event_dict(r) for r in session.scalars(stmt.order_by(Event.seq).limit(limit))]


def last_seq(session: Session) -> int:
    return session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) or 0


def install_publisher(factory: sessionmaker[Session], bus: EventBus) -> None:
    """Publish a session's events to the bus right after its transaction commits."""

    @sa_event.listens_for(factory, "after_commit")
    def _publish(session: Session) -> None:
        events = session.info.pop(PENDING, None)
        if events:
            bus.publish_many(events)

    @sa_event.listens_for(factory, "after_rollback")
    def _drop(session: Session) -> None:
        session.info.pop(PENDING, None)
