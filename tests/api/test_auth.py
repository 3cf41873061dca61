"""Login (JSON and form), /auth/me, throttling, password storage."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from assay.api.app import create_app
from assay.config import Settings
from assay.db.engine import Database
from assay.db.models import User
from tests.api.conftest import API
from tests.conftest import ADMIN_PASSWORD

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_health_login_and_me(client: TestClient) -> None:
    r = client.get(f"{API}/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["database"]["ok"] is True
    assert body["database"]["dialect"] in ("sqlite", "postgresql")

    # Login with JSON, then who am I.
    r = client.post(f"{API}/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    me = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "admin"
    assert me.json()["role"] == "admin"
    assert "password_hash" not in me.json()

    # The OAuth2 password form (Swagger UI's Authorize button); usernames are case-insensitive.
    r = client.post(f"{API}/auth/token", data={"username": "ADMIN", "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    me = client.get(
        f"{API}/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.json()["username"] == "admin"


def test_wrong_credentials_and_bad_tokens_answer_401(client: TestClient) -> None:
    r = client.post(f"{API}/auth/login", json={"username": "admin", "password": "wrong-password"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    r = client.post(f"{API}/auth/login", json={"username": "nobody", "password": "wrong-password"})
    assert r.status_code == 401
    r = client.post(f"{API}/auth/token", data={"username": "admin", "password": "nope"})
    assert r.status_code == 401
    assert client.get(f"{API}/auth/me").status_code == 401
    for token in ("garbage", "assay_notatoken", "a.b.c"):
        r = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert "detail" in r.json()
    # A JWT signed with another key is refused.
    forged = jwt.encode({"sub": "x", "exp": 4102444800}, "another-key-" * 4, algorithm="HS256")
    r = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401

    # Malformed login bodies name the missing field.
    r = client.post(f"{API}/auth/login", json={"username": "admin"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "password"]
    r = client.post(f"{API}/auth/token", data={"username": "admin"})
    assert r.status_code == 422


@sqlite_only
def test_passwords_are_stored_as_argon2(
    client: TestClient, as_role: Callable[[str], dict[str, str]], db: Database
) -> None:
    as_role("viewer")
    with db.session() as s:
        hashes = {u.username: u.password_hash for u in s.scalars(select(User))}
    assert set(hashes) == {"admin", "viewer"}
    for name, stored in hashes.items():
        assert stored.startswith("$argon2id$"), name
        assert f"{name}-password-1" not in stored and ADMIN_PASSWORD not in stored


@pytest.fixture
def strict_app(settings: Settings) -> Iterator[TestClient]:
    """An app that locks out after 3 failed logins (the setting, not a stub)."""
    strict = settings.model_copy(update={"login_max_failures": 3, "login_window_seconds": 600})
    with TestClient(create_app(strict, orchestrator=False)) as c:
        yield c


def _login(app: TestClient, address: str, username: str, password: str) -> int:
    # Another client on the same (already started) app, calling from `address`.
    c = TestClient(app.app, client=(address, 1234))
    r = c.post(f"{API}/auth/login", json={"username": username, "password": password})
    if r.status_code == 429:
        assert int(r.headers["Retry-After"]) > 0
        assert "try again" in r.json()["detail"]
    return r.status_code


@sqlite_only
def test_failed_logins_for_one_user_are_throttled_from_any_address(strict_app: TestClient) -> None:
    for i in range(3):
        assert _login(strict_app, f"10.0.0.{i}", "admin", "wrong-password") == 401
    # Locked: even the right password, from a new address, answers 429.
    assert _login(strict_app, "10.0.0.99", "admin", ADMIN_PASSWORD) == 429
    assert _login(strict_app, "10.0.0.99", "Admin", ADMIN_PASSWORD) == 429


@sqlite_only
def test_failed_logins_from_one_address_are_throttled_for_any_user(strict_app: TestClient) -> None:
    for i in range(3):
        assert _login(strict_app, "10.0.1.1", f"guess{i}", "wrong-password") == 401
    assert _login(strict_app, "10.0.1.1", "admin", ADMIN_PASSWORD) == 429
    # Another address is not affected.
    assert _login(strict_app, "10.0.1.2", "admin", ADMIN_PASSWORD) == 200

    # A success does not reset an address's count: otherwise one valid account would
    # let an address guess other users' passwords forever.
    assert _login(strict_app, "10.0.2.1", "guess1", "wrong-password") == 401
    assert _login(strict_app, "10.0.2.1", "guess2", "wrong-password") == 401
    assert _login(strict_app, "10.0.2.1", "admin", ADMIN_PASSWORD) == 200
    assert _login(strict_app, "10.0.2.1", "guess3", "wrong-password") == 401
    assert _login(strict_app, "10.0.2.1", "guess4", "wrong-password") == 429
