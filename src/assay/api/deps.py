"""FastAPI dependencies: the database session, the caller, and role checks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select, update
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from assay.api.context import AppContext
from assay.api.errors import is_conflict
from assay.db.models import ApiToken, Role, User
from assay.errors import Conflict, Forbidden, InvalidInput, Unauthenticated
from assay.security import access_tokens, api_tokens

log = logging.getLogger("assay.server")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

ROLE_LEVEL = {Role.viewer: 0, Role.editor: 1, Role.admin: 2}


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_context)]


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(ctx: Ctx, request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent.

    Used with `scope="function"`: FastAPI then runs the commit when the endpoint
    returns, not after the client already has its answer, so a 201 means the row
    is durable and a commit that fails answers an error instead of a false success.
    A GET reads in a read-only transaction, so it never waits for a long write.
    """
    try:
        with ctx.db.session(readonly=request.method in READ_METHODS) as session:
            yield session
    except IntegrityError as exc:
        if not is_conflict(exc):
            raise
        raise Conflict(
            "the change conflicts with data written at the same time (a duplicate, "
            "or a row that was just deleted); reload and try again"
        ) from exc
    except DataError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
        raise InvalidInput(f"a value cannot be stored: {reason}") from exc


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def authenticate(ctx: AppContext, token: str) -> tuple[User | None, str | None]:
    """The active user a bearer token belongs to (or None), checked in a short read-only
    transaction of its own; and the id of an API token whose last use is due to be
    written by `record_token_use` (or None).

    Only reads: on SQLite every write transaction holds the lock, so an authentication
    must neither wait for a write nor stay open while an async endpoint does slow work.
    """
    with ctx.db.session(readonly=True) as session:
        return _authenticate_token(session, ctx, token)


def _authenticate_token(session: Session, ctx: AppContext,
                        token: str) -> tuple[User | None, str | None]:
    if api_tokens.looks_like_api_token(token):
        row = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == api_tokens.digest(token))
        )
        now = datetime.now(UTC)
        if row is None or row.revoked_at is not None:
            return None, None
        if row.expires_at is not None and row.expires_at <= now:
            return None, None
        user = row.user
        if user.disabled:
            return None, None
        # Writing last_used_at on every request would turn reads into writes;
        # once a minute is plenty.
        due = row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60
        return user, row.id if due else None
    claims = access_tokens.decode(token, ctx.settings.resolved_secret_key())
    if claims is None:
        return None, None
    found = session.get(User, claims["sub"])
    if found is None or found.disabled:
        return None, None
    if found.password_changed_at is not None:
        # A login from before the password changed is over. `iat` has whole seconds:
        # a token issued in the second of the change (the changer's own new one) stands.
        issued = claims.get("iat")
        if not isinstance(issued, int | float) or issued < int(
            found.password_changed_at.timestamp()
        ):
            return None, None
    return found, None


def current_user(ctx: Ctx, token: Annotated[str | None, Depends(oauth2_scheme)],
                 background: BackgroundTasks) -> User:
    """The caller, checked in a transaction of its own (not the endpoint's session)."""
    if not token:
        raise Unauthenticated(
            "not authenticated: send 'Authorization: Bearer <token>' (POST /api/v1/auth/login)"
        )
    user, stale = authenticate(ctx, token)
    if stale is not None:  # after the response: a busy database must not delay a read
        background.add_task(record_token_use, ctx, stale)
    if user is None:
        raise Unauthenticated(
            "invalid, expired or revoked token, or the user is disabled; log in again"
        )
    return user


def record_token_use(ctx: AppContext, token_id: str) -> None:
    """Write when an API token was last used, in a short write of its own.

    Advisory (shown in the token list, at most a minute old): when the database stays
    busy past its timeout the write is skipped, and the token's next use tries again.
    """
    try:
        with ctx.db.session() as session:
            session.execute(update(ApiToken).where(ApiToken.id == token_id)
                            .values(last_used_at=datetime.now(UTC)))
    except OperationalError as exc:
        log.warning("could not record the use of API token %s: %s", token_id, exc)


def require(role: Role) -> Callable[[User], User]:
    """A dependency that lets through users with at least `role`."""

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if ROLE_LEVEL[Role(user.role)] < ROLE_LEVEL[role]:
            raise Forbidden(f"this needs the {role.value} role; you are {user.role}")
        return user

    return check


CurrentUser = Annotated[User, Depends(current_user)]
Viewer = Annotated[User, Depends(require(Role.viewer))]
Editor = Annotated[User, Depends(require(Role.editor))]
Admin = Annotated[User, Depends(require(Role.admin))]
