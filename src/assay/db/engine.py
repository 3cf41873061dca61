"""Engine and session factory; SQLite is tuned for a server with concurrent writers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

READONLY = "assay_readonly"
"""The execution option of the engine behind read-only sessions."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy control transactions (pysqlite's own BEGIN handling is lazy).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE takes the write lock up front, so two writers queue on
            # busy_timeout instead of failing with "database is locked" on upgrade.
            # A read-only session (Database.session(readonly=True)) begins deferred:
            # under WAL it reads a snapshot and never waits for a writer.
            readonly = conn.get_execution_options().get(READONLY, False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


class Database:
    """One engine plus its session factory; the app and the orchestrator share one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = self.engine.execution_options(**{READONLY: True})

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error.

        `readonly` is for work that only reads (a GET, an authentication): on SQLite
        every other transaction holds the write lock from its start, so a read waited
        behind a long write (a suite import of 100,000 tests) and failed with
        "database is locked" after the busy timeout. A read-only session that writes
        after all still works, but may then find the database busy.
        """
        factory = self.sessionmaker
        with (factory(bind=self._reader) if readonly else factory()) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
