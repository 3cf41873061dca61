"""The append-only event log: every state change, numbered, replayable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assay.db.base import Base, UTCDateTime, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_plan_seq", "plan_id", "seq"),)

    # BigInteger on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite: monotonic either way.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    type: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    project_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
