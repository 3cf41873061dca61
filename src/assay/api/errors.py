"""Error helpers: every error is JSON `{"detail": ...}` a person can act on."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from sqlalchemy.exc import IntegrityError

# Constraint failures that mean "someone else wrote first", not a bug: unique and foreign key.
_CONFLICT_SQLSTATES = {"23505", "23503"}
_CONFLICT_SQLITE = {
    "SQLITE_CONSTRAINT_UNIQUE",
    "SQLITE_CONSTRAINT_PRIMARYKEY",
    "SQLITE_CONSTRAINT_FOREIGNKEY",
}


def not_found(what: str, ident: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} {ident!r} does not exist")


def conflict(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)


def field_error(field: str, message: str, type_: str = "value_error", **ctx: Any) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, so clients parse one format."""
    item: dict[str, Any] = {"loc": ["body", field], "msg": message, "type": type_}
    if ctx:
        item["ctx"] = ctx
    return HTTPException(422, [item])


def is_conflict(exc: IntegrityError) -> bool:
    """Whether a failed write lost a race (duplicate key, vanished parent row)."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return sqlstate in _CONFLICT_SQLSTATES
    return getattr(orig, "sqlite_errorname", None) in _CONFLICT_SQLITE
