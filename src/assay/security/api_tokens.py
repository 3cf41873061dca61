"""Long-lived API tokens: random, shown once, stored as a SHA-256 digest.

A SHA-256 (not argon2) is right here: the token has 256 bits of entropy, so a fast
hash cannot be brute-forced, and lookup by digest needs a deterministic hash.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "assay_"


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_api_token(token: str) -> bool:
    return token.startswith(PREFIX)
