"""Error helpers: every error is JSON `{"detail": ...}` a person can act on."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

log = logging.getLogger("assay.server")

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


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """The answer to an exception no route turned into one: JSON 500, traceback in the log.

    Clients parse `{"detail": ...}` for every error; a bare "Internal Server Error"
    text would break that and tell nobody where to look. The exception's type is
    named (not its message, which may hold paths or data) so a report can be matched
    to the log line.
    """
    log.error(
        "unhandled %s in %s %s", type(exc).__name__, request.method, request.url.path,
        exc_info=exc,
    )
    return JSONResponse(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        content={"detail": f"internal error: {type(exc).__name__}; see the server log"},
    )
