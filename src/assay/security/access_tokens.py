"""Short-lived access tokens (JWT, HS256) issued at login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"


def issue(user_id: str, secret: str, minutes: int, **claims: Any) -> str:
    now = datetime.now(UTC)
    payload = {"sub": user_id, "iat": now, "exp": now + timedelta(minutes=minutes), **claims}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token; None for anything else."""
    try:
        return jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
    except jwt.PyJWTError:
        return None
