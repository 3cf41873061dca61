"""Errors as answers: every error is JSON `{"detail": ...}` a person can act on.

Code anywhere raises a kind of `assay.errors.AssayError`; `assay_error`, the one
handler the app registers for them, turns the kind into its status code. An
`InvalidInput` that names its `field` answers in the shape of FastAPI's own
validation errors (a list locating the field), so clients parse one format for
both; any other error's `detail` is its message. `errors()` builds the `responses=`
of an operation, so the schema documents every status code it can answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, OperationalError

from assay.errors import (
    AssayError,
    Conflict,
    Forbidden,
    InvalidInput,
    Misconfigured,
    NotFound,
    Throttled,
    TooLarge,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger("assay.server")

# Constraint failures that mean "someone else wrote first", not a bug: unique and foreign key.
_CONFLICT_SQLSTATES = {"23505", "23503"}
_CONFLICT_SQLITE = {
    "SQLITE_CONSTRAINT_UNIQUE",
    "SQLITE_CONSTRAINT_PRIMARYKEY",
    "SQLITE_CONSTRAINT_FOREIGNKEY",
}

STATUS: dict[type[AssayError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    TooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Unauthenticated: status.HTTP_401_UNAUTHORIZED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Throttled: status.HTTP_429_TOO_MANY_REQUESTS,
    Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    Misconfigured: status.HTTP_500_INTERNAL_SERVER_ERROR,
}
"""The status code of each kind; a class answers that of the first kind in its MRO."""


class FieldProblem(BaseModel):
    """One problem of a request, located as FastAPI's validation errors locate it."""

    loc: list[str | int] = Field(description="Where: `body`, `query`, `path`, then field names.")
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    detail: str | list[FieldProblem] = Field(
        description="What went wrong and what to do: a sentence, or the request's problems."
    )


class FieldError(InvalidInput):
    """Invalid input located at a body field, with a machine-readable `type` (and `ctx`)."""

    def __init__(
        self, field: str, message: str, type_: str = "value_error", **ctx: Any
    ) -> None:
        super().__init__(message)
        self.field = field
        self.type = type_
        self.ctx = ctx


def kind_of(exc: AssayError) -> type[AssayError]:
    """The first kind in the exception's MRO: `UserExists(Conflict, UserError)` is a Conflict."""
    return next((cls for cls in type(exc).__mro__ if cls in STATUS), AssayError)


def status_of(exc: AssayError) -> int:
    return STATUS.get(kind_of(exc), status.HTTP_500_INTERNAL_SERVER_ERROR)


def detail_of(exc: AssayError) -> str | list[dict[str, Any]]:
    message = str(exc)
    if kind_of(exc) is InvalidInput and exc.field:
        item: dict[str, Any] = {"loc": ["body", exc.field], "msg": message}
        item["type"] = exc.type if isinstance(exc, FieldError) else "value_error"
        if isinstance(exc, FieldError) and exc.ctx:
            item["ctx"] = exc.ctx
        return [item]
    return message


async def assay_error(request: Request, exc: Exception) -> JSONResponse:
    """The answer to an `AssayError`: its kind's status code and `{"detail": ...}`."""
    assert isinstance(exc, AssayError)
    code = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if code >= 500:
        log.warning("%s %s answered %d: %s", request.method, request.url.path, code, exc,
                    exc_info=exc)
    return JSONResponse({"detail": detail_of(exc)}, status_code=code, headers=headers)


def not_found(what: str, ident: str) -> NotFound:
    return NotFound(f"{what} {ident!r} does not exist")


def conflict(message: str) -> Conflict:
    return Conflict(message)


def field_error(field: str, message: str, type_: str = "value_error", **ctx: Any) -> FieldError:
    """A 422 shaped like FastAPI's own validation errors, so clients parse one format."""
    return FieldError(field, message, type_, **ctx)


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
    if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
        # SQLite's one writer at a time: this request waited its whole busy timeout.
        # Nothing was written; the same request can simply be sent again.
        log.warning("%s %s: the SQLite database stayed locked", request.method,
                    request.url.path)
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "1"},
            content={"detail": "the database is busy with other writes; retry in a moment "
                               "(a server this busy is better on PostgreSQL)"})
    log.error(
        "unhandled %s in %s %s", type(exc).__name__, request.method, request.url.path,
        exc_info=exc,
    )
    return JSONResponse(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        content={"detail": f"internal error: {type(exc).__name__}; see the server log"},
    )


# -- documenting them -----------------------------------------------------------------

DESCRIPTIONS: dict[int, str] = {
    400: "The body cannot be read: it is not UTF-8 text of the declared media type.",
    401: "Not authenticated: no bearer token, or one that is invalid, expired or revoked, "
    "or its user is disabled.",
    403: "Authenticated, but the caller's role does not allow this.",
    404: "Something the request names does not exist.",
    409: "The request conflicts with the current state, or with a change made at the same "
    "time; reload and try again.",
    413: "The request body is larger than the server accepts (`ASSAY_MAX_BODY_BYTES`).",
    422: "The request is invalid: `detail` locates each problem, or says what to fix.",
    429: "Too many failed attempts; try again after `Retry-After` seconds.",
    500: "The server is set up wrong; the detail says what an administrator must fix.",
    503: "The server cannot do this now or here; the detail says why.",
}

_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
}

AUTH = (401,)
"""Any signed-in user (or API token)."""
ROLE = (401, 403)
"""A role check: viewer, editor or admin."""
BODY = (400, 413, 422)
"""A request body: unreadable, too large, or invalid."""
PROJECT_WORK = {
    422: "The project must change: its source cannot be read, its environment does not "
    "build, or its tests do not collect; the detail says what failed and how.",
    500: "The server is set up wrong (a data directory it cannot access); the detail says "
    "what an administrator must fix.",
    503: "The sandbox cannot run on this server; the detail says why.",
}
"""Reading, building or running a project's code (see `project_errors`)."""


def errors(*codes: int | Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the error answers of an operation, all with `ErrorResponse`.

    Give status codes (described generically) or `{code: description}` to say what
    they mean for this operation: `errors(*ROLE, *BODY, {404: "No such project."})`.
    """
    described: dict[int, str] = {}
    for code in codes:
        if isinstance(code, Mapping):
            described.update(code)
        else:
            described.setdefault(code, DESCRIPTIONS[code])
    responses: dict[int | str, dict[str, Any]] = {}
    for code in sorted(described):
        entry: dict[str, Any] = {"model": ErrorResponse, "description": described[code]}
        if code in _HEADERS:
            entry["headers"] = _HEADERS[code]
        responses[code] = entry
    return responses
