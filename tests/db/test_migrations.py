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
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
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
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
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
