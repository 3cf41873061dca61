"""Test case text search by index: SQLite FTS5 trigram, PostgreSQL pg_trgm; title sort index.

`GET /tests?q=` was a LIKE '%q%' scan of every case (assay.db.search says how each
database's index is used). SQLite gets an external-content FTS5 table over the four
searched columns, kept in step by triggers and built from the rows already there;
PostgreSQL gets a trigram GIN index on lower(column) for each of them. Where the index
cannot be had (an SQLite without the trigram tokenizer, a PostgreSQL without pg_trgm)
nothing is created and search stays the scan it was.

A later migration that recreates `test_cases` on SQLite (batch mode) drops the triggers
and renumbers rowids: it must run SQLITE_UPGRADE again after it.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

from assay.db.search import sqlite_has_trigram

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

COLUMNS = ("title", "description", "code", "reference")
_COLS = ", ".join(COLUMNS)
_NEW = ", ".join(f"new.{c}" for c in COLUMNS)
_OLD = ", ".join(f"old.{c}" for c in COLUMNS)

SQLITE_UPGRADE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS test_cases_fts USING fts5("
    f"{_COLS}, content='test_cases', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS test_cases_fts_insert AFTER INSERT ON test_cases BEGIN "
    f"INSERT INTO test_cases_fts(rowid, {_COLS}) VALUES (new.rowid, {_NEW}); END",
    "CREATE TRIGGER IF NOT EXISTS test_cases_fts_delete AFTER DELETE ON test_cases BEGIN "
    f"INSERT INTO test_cases_fts(test_cases_fts, rowid, {_COLS}) "
    f"VALUES ('delete', old.rowid, {_OLD}); END",
    "CREATE TRIGGER IF NOT EXISTS test_cases_fts_update "
    f"AFTER UPDATE OF {_COLS} ON test_cases BEGIN "
    f"INSERT INTO test_cases_fts(test_cases_fts, rowid, {_COLS}) "
    f"VALUES ('delete', old.rowid, {_OLD}); "
    f"INSERT INTO test_cases_fts(rowid, {_COLS}) VALUES (new.rowid, {_NEW}); END",
    # Index the rows already there (and repair an index out of step with its table).
    "INSERT INTO test_cases_fts(test_cases_fts) VALUES ('rebuild')",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS test_cases_fts_update",
    "DROP TRIGGER IF EXISTS test_cases_fts_delete",
    "DROP TRIGGER IF EXISTS test_cases_fts_insert",
    "DROP TABLE IF EXISTS test_cases_fts",
)


def _postgres_upgrade() -> None:
    bind = op.get_bind()
    # pg_trgm ships with PostgreSQL's contrib and is a trusted extension (13+): a database
    # owner may create it. Where it is missing, search works unindexed, as before.
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as exc:
        log.warning("pg_trgm is not available (%s): test case search stays unindexed",
                    str(exc.orig).strip())
        return
    for column in COLUMNS:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS ix_test_cases_{column}_trgm "
            f"ON test_cases USING gin (lower({column}) gin_trgm_ops)"
        )


def upgrade() -> None:
    op.create_index("ix_test_cases_project_title", "test_cases", ["project_id", "title", "id"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        if not sqlite_has_trigram():
            log.warning("this SQLite has no FTS5 trigram tokenizer (3.34+): "
                        "test case search stays unindexed")
            return
        for statement in SQLITE_UPGRADE:
            op.execute(statement)
    elif dialect == "postgresql":
        _postgres_upgrade()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
    elif dialect == "postgresql":
        # The extension stays: other objects may use it, and it holds no data.
        for column in COLUMNS:
            op.execute(f"DROP INDEX IF EXISTS ix_test_cases_{column}_trgm")
    op.drop_index("ix_test_cases_project_title", table_name="test_cases")
