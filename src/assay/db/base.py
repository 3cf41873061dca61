"""Declarative base and column helpers shared by every model."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from sqlalchemy import DateTime, Executable, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


INSERT_CHUNK = 5_000
"""Rows written per multi-row INSERT of a bulk write (a plan's runs, an imported suite):
a plan of 100,000 tests is 20 statements, each well under any driver's parameter limit."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A primary key: 32 hex digits, the creation time's milliseconds then 80 random bits.

    Safe to expose (unguessable) and portable across databases. Time first, as in
    UUIDv7: ids made one after another land at the end of every B-tree that holds
    them, instead of on a random page each (a plan's 100,000 runs, a suite's 100,000
    cases: their primary keys, and the runs' `test_case_id` index, are appended to).
    """
    return id_prefix() + f"{secrets.randbits(80):020x}"


def id_prefix(at_ns: int | None = None) -> str:
    """The 12 hex digits of milliseconds an id made at `at_ns` (default: now) starts with."""
    return f"{(time.time_ns() if at_ns is None else at_ns) // 1_000_000:012x}"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, even on SQLite (which drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use assay.db.base.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def affected(session: Session, stmt: Executable) -> int:
    """Rows an UPDATE/DELETE changed: how a conditional update tells who won."""
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0))
