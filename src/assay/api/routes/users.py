"""User administration (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import func, select

from assay.api.deps import Admin, DbSession
from assay.api.errors import BODY, ROLE, conflict, errors, not_found
from assay.api.schemas.auth import (
    PasswordReset,
    PasswordResetDone,
    UserCreate,
    UserOut,
    UserUpdate,
)
from assay.db.models import Role, User
from assay.services.users import create_user, generated_password, set_password

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut], responses=errors(*ROLE))
def list_users(_: Admin, session: DbSession) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(*ROLE, *BODY, {409: "A user of that name exists."}),
)
def create(body: UserCreate, _: Admin, session: DbSession) -> User:
    return create_user(session, body.username, body.password, body.role)


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    responses=errors(
        *ROLE, *BODY,
        {404: "No such user.", 409: "You are the last active admin, or a concurrent change."},
    ),
)
def update(user_id: str, body: UserUpdate, admin: Admin, session: DbSession) -> User:
    """Change a user's role, disable or enable them, or reset their password.

    A disabled user's sessions and API tokens stop working at once: every request
    re-reads the user.
    """
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    demoting_self = user.id == admin.id and (
        (body.role is not None and body.role != Role.admin) or body.disabled
    )
    if demoting_self:
        others = session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.admin.value, User.disabled.is_(False), User.id != admin.id)
        )
        if not others:
            raise conflict("you are the last active admin; promote another admin first")
    if body.role is not None:
        user.role = body.role.value
    if body.disabled is not None:
        user.disabled = body.disabled
    if body.password is not None:
        set_password(user, body.password)
    return user


@router.post(
    "/{user_id}/password",
    response_model=PasswordResetDone,
    responses=errors(*ROLE, *BODY, {404: "No such user."}),
)
def reset_password(
    user_id: str, body: PasswordReset, _: Admin, session: DbSession
) -> PasswordResetDone:
    """Set another user's password: the one given, or a generated one answered once.

    The user's logins (access tokens) from before stop working at once; their API
    tokens keep working (revoke them, or disable the user, to cut those off too).
    To change your own password, use `POST /auth/password`, which asks for the
    current one.
    """
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    password = body.password if body.password is not None else generated_password()
    set_password(user, password)
    session.flush()
    return PasswordResetDone(
        user=UserOut.model_validate(user), password=None if body.password else password
    )
