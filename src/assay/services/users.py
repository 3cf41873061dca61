"""Users: creation with validation, and the initial admin on first start."""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.db.base import utcnow
from assay.db.models import Role, User
from assay.errors import Conflict, InvalidInput
from assay.security.passwords import hash_password

log = logging.getLogger("assay.users")

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8


class UserError(InvalidInput, ValueError):
    """Input a person must fix; `field` names what."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UserExists(Conflict, UserError):
    pass


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError("password", f"password must be at least {MIN_PASSWORD} characters")


def set_password(user: User, password: str) -> None:
    """A new password; the user's logins from before it stop working (API tokens do not)."""
    validate_password(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()


def generated_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(session: Session, username: str, password: str, role: Role) -> User:
    if not USERNAME_RE.match(username):
        raise UserError("username", "username: 1-64 letters, digits or . _ @ -")
    validate_password(password)
    if session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise UserExists("username", f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role.value)
    session.add(user)
    session.flush()
    return user


def bootstrap_admin(session: Session, data_dir: Path, password: str | None) -> str | None:
    """Create the `admin` user on an empty database; return a generated password, if any.

    A generated password is printed once in the log and kept in
    `<data dir>/admin-password` (mode 0600) so a person who missed the log can read it.
    """
    if session.scalar(select(func.count()).select_from(User)):
        return None
    generated = None
    if not password:
        generated = password = generated_password()
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / "admin-password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        log.warning("Created user 'admin' with generated password: %s (also in %s)", password, path)
    create_user(session, "admin", password, Role.admin)
    return generated
