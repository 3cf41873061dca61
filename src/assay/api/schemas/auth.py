"""Schemas for login, users and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from assay.api.schemas.base import INTEGER, RequestModel
from assay.db.models import Role


class LoginRequest(RequestModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    role: Role
    disabled: bool
    created_at: datetime


class UserCreate(RequestModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=1024)
    role: Role = Role.viewer


class UserUpdate(RequestModel):
    role: Role | None = None
    disabled: StrictBool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1024)


class PasswordChange(RequestModel):
    """Your own password: the one you log in with now, and the new one."""

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(
        min_length=8, max_length=1024, description="At least 8 characters."
    )


class PasswordReset(RequestModel):
    """An admin's reset of another user's password: a given one, or one generated."""

    password: str | None = Field(
        default=None,
        min_length=8,
        max_length=1024,
        description="The new password (at least 8 characters); left out, one is generated.",
    )


class PasswordResetDone(BaseModel):
    user: UserOut
    password: str | None = Field(
        description="The generated password, shown only in this answer; null when you gave one."
    )


class ApiTokenCreate(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    # Bounds first: after Integer's validator they would not reach the schema.
    expires_in_days: Annotated[int, Field(ge=1, le=3650), *INTEGER] | None = None


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="The token itself. Shown only in this response.")
