"""Text search over test cases: one predicate, an index fit for it on each database.

`GET /tests?q=` matches a case when `q` is a case-insensitive substring of its title,
description, code or reference. A LIKE '%q%' cannot use a B-tree index, so each
database gets its own index (created by migration 0005) and this module compiles the
one predicate to what that index serves:

- SQLite: an FTS5 table with the trigram tokenizer, `test_cases_fts`, an external-content
  index over those four columns of `test_cases` (keyed by its rowid, which VACUUM
  keeps) and kept in step by three triggers. A quoted phrase of trigrams matches
  exactly the substrings, so `q` of 3 characters or more is a phrase MATCH. Shorter
  `q` cannot be indexed by trigrams and stays a LIKE scan (its matches are most rows
  anyway, so an ordered page fills fast). FTS folds case for all of Unicode, where
  SQLite's `lower()` folds only ASCII: a search for "émile" now also finds "Émile".
- PostgreSQL: `pg_trgm` GIN indexes on `lower(column)` for each column; the predicate
  stays `lower(column) LIKE '%q%'`, which the planner answers from those indexes.

Every other character in `q` is text: `%`, `_`, quotes, `*`, `-`, `OR`, parentheses
never act as operators, on either database.

A migration that recreates `test_cases` on SQLite (Alembic's batch mode copies it into a
new table) drops its triggers and renumbers its rowids: it must run migration 0005's
SQLite statements again afterwards (they end with a 'rebuild'). `tests/db/test_migrations.py`
checks at head that the triggers exist and the index is in step with the table.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from assay.db.models import TestCase

FTS_TABLE = "test_cases_fts"
FTS_TRIGGERS = ("test_cases_fts_insert", "test_cases_fts_delete", "test_cases_fts_update")
TRIGRAM_INDEXES = {
    f"ix_test_cases_{column}_trgm": column
    for column in ("title", "description", "code", "reference")
}
SEARCH_TABLES = frozenset(
    {FTS_TABLE} | {f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "docsize", "config")}
)
"""Tables the SQLite search index consists of: not models, so outside `Base.metadata`."""

MIN_INDEXED = 3
"""The shortest `q` a trigram index can answer; shorter ones are a LIKE scan."""

_COLUMNS = ("title", "description", "code", "reference")


@functools.cache
def sqlite_has_trigram() -> bool:
    """Whether this process's SQLite has FTS5 with the trigram tokenizer (3.34 and later)."""
    try:
        with sqlite3.connect(":memory:") as conn:
            conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='trigram')")
    except sqlite3.Error:
        return False
    return True


def is_search_object(name: str | None, type_: str) -> bool:
    """The search index's own objects, which Alembic's autogenerate must leave alone."""
    if type_ == "table":
        return name in SEARCH_TABLES
    if type_ == "index":
        return name in TRIGRAM_INDEXES
    return False


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """An Alembic `include_object` hook: everything but the search index's objects."""
    return not is_search_object(name, type_)


def _like(needle: str) -> ColumnElement[bool]:
    """The plain predicate: `q`, lower-cased, as a literal substring of any column."""
    lowered = needle.lower()
    return or_(
        *(
            func.lower(getattr(TestCase, column)).contains(lowered, autoescape=True)
            for column in _COLUMNS
        )
    )


def _phrase(needle: str) -> str:
    """`q` as one FTS5 phrase: a quoted string, quotes doubled, nothing an operator."""
    return '"' + needle.replace('"', '""') + '"'


def _position(needle: str) -> ColumnElement[bool]:
    """PostgreSQL's `strpos(lower(col), q) > 0`: the same match as `_like`, which the
    trigram indexes do not serve. For `q` under 3 characters pg_trgm has no trigram to
    look up and would read its whole index (slower than the scan it replaces)."""
    lowered = needle.lower()
    return or_(
        *(func.strpos(func.lower(getattr(TestCase, column)), lowered) > 0 for column in _COLUMNS)
    )


class _PerDialect(ColumnElement[bool]):
    """One predicate written per dialect: the one the database's search index serves."""

    # No Boolean type: SQLite would then compare it with 1 (`(x IN (...)) = 1`), which
    # hides the IN from the planner.
    inherit_cache = True
    _traverse_internals = [
        ("default", InternalTraversal.dp_clauseelement),
        ("sqlite", InternalTraversal.dp_clauseelement),
        ("postgresql", InternalTraversal.dp_clauseelement),
    ]

    def __init__(
        self,
        default: ColumnElement[bool],
        sqlite: ColumnElement[bool],
        postgresql: ColumnElement[bool],
    ) -> None:
        self.default = default
        self.sqlite = sqlite
        self.postgresql = postgresql


@compiles(_PerDialect)
def _compile(element: _PerDialect, compiler: SQLCompiler, **kw: Any) -> str:
    chosen = getattr(element, compiler.dialect.name, element.default)
    # Parenthesized: an OR must not bind looser than the filters AND-ed to it.
    return f"({compiler.process(chosen, **kw)})"


def text_match(q: str) -> ColumnElement[bool]:
    """Test cases whose title, description, code or reference contain `q`, any case."""
    like = _like(q)
    if len(q) < MIN_INDEXED:
        return _PerDialect(like, sqlite=like, postgresql=_position(q))
    if "\x00" in q or not sqlite_has_trigram():  # FTS5 reads a NUL as the query's end
        return _PerDialect(like, sqlite=like, postgresql=like)
    fts_rows: Select[Any] = select(literal_column("rowid")).select_from(text(FTS_TABLE)).where(
        literal_column(FTS_TABLE).op("MATCH")(_phrase(q))
    )
    fts = literal_column("test_cases.rowid").in_(fts_rows.scalar_subquery())
    return _PerDialect(like, sqlite=fts, postgresql=like)
