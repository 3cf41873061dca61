"""Login (JSON and OAuth2 form) and the caller's own identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import func, select

from assay.api.context import AppContext
from assay.api.deps import Ctx, CurrentUser, DbSession
from assay.api.errors import AUTH, BODY, errors, field_error
from assay.api.schemas.auth import LoginRequest, PasswordChange, TokenResponse, UserOut
from assay.db.models import User
from assay.errors import Forbidden, Throttled, Unauthenticated
from assay.security import access_tokens
from assay.security.passwords import verify_password
from assay.services.users import set_password

router = APIRouter(prefix="/auth", tags=["auth"])


def _login(
    ctx: AppContext, session: DbSession, request: Request, username: str, password: str
) -> TokenResponse:
    address = request.client.host if request.client else "unknown"
    keys = (f"user:{username.lower()}", f"ip:{address}")
    wait = ctx.throttle.retry_after(*keys)
    if wait:
        raise Throttled(f"too many failed logins; try again in {wait} s", wait)
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or user.disabled:
        ctx.throttle.fail(*keys)
        raise Unauthenticated("wrong username or password, or the user is disabled")
    # Only the user's own count is cleared: clearing the address too would let one valid
    # account reset an address's count between guesses at other users' passwords.
    ctx.throttle.succeed(keys[0])
    return _issue(ctx, user)


def _issue(ctx: AppContext, user: User) -> TokenResponse:
    minutes = ctx.settings.access_token_minutes
    token = access_tokens.issue(user.id, ctx.settings.resolved_secret_key(), minutes)
    return TokenResponse(access_token=token, expires_in=minutes * 60)


LOGIN_ERRORS = errors(
    *BODY, {401: "Wrong username or password, or the user is disabled."}, 429
)


@router.post("/login", response_model=TokenResponse, responses=LOGIN_ERRORS)
def login(body: LoginRequest, request: Request, ctx: Ctx, session: DbSession) -> TokenResponse:
    """Exchange a username and password for a bearer access token."""
    return _login(ctx, session, request, body.username, body.password)


@router.post("/token", response_model=TokenResponse, responses=LOGIN_ERRORS)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    ctx: Ctx,
    session: DbSession,
) -> TokenResponse:
    """The OAuth2 password flow, for the Swagger UI's Authorize button."""
    return _login(ctx, session, request, form.username, form.password)


@router.get("/me", response_model=UserOut, responses=errors(*AUTH))
def me(user: CurrentUser) -> User:
    return user


@router.post(
    "/password",
    response_model=TokenResponse,
    responses=errors(
        *AUTH, *BODY, {403: "The current password is wrong."}, 429
    ),
)
def change_password(
    body: PasswordChange, user: CurrentUser, ctx: Ctx, session: DbSession
) -> TokenResponse:
    """Change your own password; the answer is a new access token for this session.

    Every other login of yours (access tokens issued before the change, in any browser)
    stops working at once; your API tokens keep working: revoke them under
    `/tokens` if they may be known to someone else. Wrong current passwords count
    towards the same throttle as failed logins.
    """
    key = f"user:{user.username.lower()}"
    wait = ctx.throttle.retry_after(key)
    if wait:
        raise Throttled(f"too many wrong passwords; try again in {wait} s", wait)
    row = session.get(User, user.id)
    assert row is not None  # the caller was just authenticated
    if not verify_password(body.current_password, row.password_hash):
        ctx.throttle.fail(key)
        raise Forbidden(
            "the current password is wrong: type the password you log in with now"
        )
    if body.new_password == body.current_password:
        raise field_error("new_password", "the new password is the same as the current one")
    ctx.throttle.succeed(key)
    set_password(row, body.new_password)
    session.flush()
    return _issue(ctx, row)
