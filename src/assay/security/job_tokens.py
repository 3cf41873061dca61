"""Job-scoped tokens: what a worker shows to fetch exactly one snapshot, briefly.

Signed with the server's secret like access tokens, but they carry no subject
and a dedicated audience, so the user authentication path (which requires `sub`
and rejects any audience) can never accept one as a login.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
AUDIENCE = "assay-worker"
SNAPSHOT_SCOPE = "snapshot"


def issue_snapshot_token(snapshot_hash: str, secret: str, seconds: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "scope": SNAPSHOT_SCOPE,
        "hash": snapshot_hash,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=seconds),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def allows_snapshot(token: str, secret: str, snapshot_hash: str) -> bool:
    """True when `token` is valid, unexpired, and scoped to this very snapshot."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "aud", "scope", "hash"]},
        )
    except jwt.PyJWTError:
        return False
    return claims.get("scope") == SNAPSHOT_SCOPE and claims.get("hash") == snapshot_hash
