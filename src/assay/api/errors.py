"""Error helpers: every error is JSON `{"detail": ...}` a person can act on."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status


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
