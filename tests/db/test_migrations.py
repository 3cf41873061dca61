"""The migrations: empty → head → base on both databases, and in step with the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from assay.db.base import Base
from assay.db.migrate import downgrade, upgrade
from assay.db.search import FTS_TABLE, FTS_TRIGGERS, SEARCH_TABLES, TRIGRAM_INDEXES, include_object

PG_ADMIN_URL = os.environ.get(
    "ASSAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database (not the suite's pre-migrated one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"assay_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tables(url: str) -> set[str]:
    """The tables, less the SQLite search index's (an FTS5 table and its shadows)."""
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - SEARCH_TABLES
    finally:
        engine.dispose()


def test_upgrade_to_head_matches_models_and_downgrades_to_base(empty_db: str) -> None:
    models = {t.name for t in Base.metadata.sorted_tables}
    assert _tables(empty_db) == set()

    upgrade(empty_db)
    assert _tables(empty_db) == models | {"alembic_version"}

    # The models and the migrations agree: autogenerate would find nothing to do.
    engine = create_engine(empty_db)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": include_object}
            )
            assert ctx.get_current_revision() is not None
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], diff

    upgrade(empty_db)  # idempotent: the server runs it on every start
    downgrade(empty_db)
    assert _tables(empty_db) <= {"alembic_version"}
    upgrade(empty_db)
    assert _tables(empty_db) == models | {"alembic_version"}


def _search_objects(url: str) -> set[str]:
    """The search index's objects in the database: SQLite's FTS table and triggers, or
    PostgreSQL's trigram indexes."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.execute(text(
                    "SELECT name FROM sqlite_master WHERE name = :t"
                    " OR (type = 'trigger' AND tbl_name = 'test_cases')"
                ), {"t": FTS_TABLE})
            else:
                rows = conn.execute(text(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'test_cases'"
                    " AND indexname LIKE '%trgm'"
                ))
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def test_search_index_is_built_from_existing_rows_and_removed_on_downgrade(
    empty_db: str,
) -> None:
    """0005 indexes the cases already there; downgrading past it removes every piece."""
    upgrade(empty_db, "0004")
    engine = create_engine(empty_db)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO projects (id, name, description, source, settings, created_at,"
                " updated_at) VALUES ('p1', 'p', '', '{}', '{}', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ))
            conn.execute(text(
                "INSERT INTO test_cases (id, project_id, title, description, code, priority,"
                " priority_rank, status, origin, created_at, updated_at, version) VALUES"
                " ('t1', 'p1', 'Checkout Total', '', 'def test_a(): pass', 'medium', 2,"
                " 'active', 'manual', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
            ))
    finally:
        engine.dispose()

    upgrade(empty_db)
    sqlite = empty_db.startswith("sqlite")
    wanted = {FTS_TABLE, *FTS_TRIGGERS} if sqlite else set(TRIGRAM_INDEXES)
    assert _search_objects(empty_db) == wanted
    engine = create_engine(empty_db)
    try:
        with engine.begin() as conn:
            if sqlite:
                # The index agrees with its content table, row for row.
                conn.execute(text(
                    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)"
                ))
                found = conn.scalars(text(
                    f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH '\"kout tot\"'"
                )).all()
                assert len(found) == 1
    finally:
        engine.dispose()

    downgrade(empty_db, "0004")
    assert _search_objects(empty_db) == set()
    assert _tables(empty_db) == {t.name for t in Base.metadata.sorted_tables} | {
        "alembic_version"
    }
