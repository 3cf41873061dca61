"""Appending events in the writer's transaction, and replaying them by sequence.

An event is written in the same transaction as the change it describes, so the log
never claims something that was rolled back. Once the transaction commits, the
session hands its events to the bus (see `install_publisher`).
"""

from __future__ import annotations

from collections.abc import Sequence
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


_INSERT = insert(EVENTS).returning(EVENTS.c.seq, sort_by_parameter_order=True)
"""Built once; a burst of events is one multi-row INSERT (SQLAlchemy's insertmanyvalues)
whose returned sequence numbers come back in the rows' order."""


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
    return append_many(session, [payload], plan_id=plan_id, project_id=project_id)[0]


def append_many(
    session: Session,
    payloads: Sequence[EventPayload],
    *,
    plan_id: str | None = None,
    project_id: str | None = None,
) -> list[dict[str, Any]]:
    """`append` for a burst of events of one plan, numbered in the order given."""
    if not payloads:
        return []
    bind = session.get_bind()
    transaction = session.get_transaction()
    if bind.dialect.name == "postgresql" and session.info.get(LOCKED) is not transaction:
        # Serialize event writers until commit, so sequence order is commit order and a
        # client replaying "since N" can never miss an event that commits later with a
        # smaller number. (SQLite already serializes writers.) Once per transaction.
        session.execute(text("SELECT pg_advisory_xact_lock(7317)"))
        session.info[LOCKED] = transaction
    created = utcnow()
    rows = [{"type": p.type, "payload": p.model_dump(mode="json"), "plan_id": plan_id,
             "project_id": project_id, "created_at": created} for p in payloads]
    seqs = session.execute(_INSERT, rows).scalars().all()
    stamp = created.isoformat()
    stored = [{"seq": seq, **row, "created_at": stamp} for seq, row in zip(seqs, rows,
                                                                            strict=True)]
    session.info.setdefault(PENDING, []).extend(stored)
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
