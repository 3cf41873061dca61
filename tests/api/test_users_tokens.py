"""User administration and API tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from assay.db.engine import Database
from assay.db.models import ApiToken
from tests.api.conftest import API
from tests.conftest import login

Headers = dict[str, str]
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def test_admin_creates_lists_and_updates_users(client: TestClient, admin: Headers) -> None:
    r = client.post(
        f"{API}/users",
        headers=admin,
        json={"username": "alice", "password": "alice-password", "role": "editor"},
    )
    assert r.status_code == 201, r.text
    alice = r.json()
    assert alice["role"] == "editor" and alice["disabled"] is False
    assert "password" not in alice and "password_hash" not in alice

    users = client.get(f"{API}/users", headers=admin).json()
    assert [u["username"] for u in users] == ["admin", "alice"]

    # Usernames are unique regardless of case.
    r = client.post(
        f"{API}/users", headers=admin, json={"username": "ALICE", "password": "another-password"}
    )
    assert r.status_code == 409
    assert "exists" in r.json()["detail"]

    r = client.patch(f"{API}/users/{alice['id']}", headers=admin, json={"role": "viewer"})
    assert r.status_code == 200 and r.json()["role"] == "viewer"

    # A password reset takes effect: the old one stops working, the new one works.
    r = client.patch(
        f"{API}/users/{alice['id']}", headers=admin, json={"password": "new-password-2"}
    )
    assert r.status_code == 200
    bad = client.post(f"{API}/auth/login", json={"username": "alice", "password": "alice-password"})
    assert bad.status_code == 401
    assert login(client, "alice", "new-password-2")


@sqlite_only
def test_user_input_is_validated(client: TestClient, admin: Headers) -> None:
    cases = [
        ({"username": "bob", "password": "short"}, "password"),
        ({"username": "bad name!", "password": "long-enough-pw"}, "username"),
        ({"username": "bob", "password": "long-enough-pw", "role": "root"}, "role"),
        ({"password": "long-enough-pw"}, "username"),
    ]
    for body, field in cases:
        r = client.post(f"{API}/users", headers=admin, json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"][-1] == field, r.text
    r = client.patch(f"{API}/users/nope", headers=admin, json={"role": "viewer"})
    assert r.status_code == 404
    assert "nope" in r.json()["detail"]
    admin_id = client.get(f"{API}/auth/me", headers=admin).json()["id"]
    r = client.patch(f"{API}/users/{admin_id}", headers=admin, json={"role": "owner"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "role"]
    r = client.patch(f"{API}/users/{admin_id}", headers=admin, json={"disabled": "maybe"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "disabled"]


def test_the_last_admin_cannot_demote_or_disable_themselves(
    client: TestClient, admin: Headers
) -> None:
    me = client.get(f"{API}/auth/me", headers=admin).json()
    for change in ({"role": "editor"}, {"disabled": True}):
        r = client.patch(f"{API}/users/{me['id']}", headers=admin, json=change)
        assert r.status_code == 409, change
        assert "last active admin" in r.json()["detail"]
    assert client.get(f"{API}/auth/me", headers=admin).json()["role"] == "admin"

    # With a second active admin, stepping down is allowed.
    r = client.post(
        f"{API}/users",
        headers=admin,
        json={"username": "root2", "password": "root2-password", "role": "admin"},
    )
    assert r.status_code == 201
    r = client.patch(f"{API}/users/{me['id']}", headers=admin, json={"role": "editor"})
    assert r.status_code == 200 and r.json()["role"] == "editor"
    # ...and from then on the former admin is an editor: user management is 403.
    assert client.get(f"{API}/users", headers=admin).status_code == 403


def test_api_token_lifecycle(
    client: TestClient, as_role: Callable[[str], Headers], db: Database
) -> None:
    editor = as_role("editor")
    r = client.post(f"{API}/tokens", headers=editor, json={"name": "ci"})
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["token"]
    assert secret.startswith("assay_") and secret.startswith(created["prefix"])

    # Shown once: the list never carries it, and the database holds only a digest.
    listed = client.get(f"{API}/tokens", headers=editor)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [created["id"]]
    assert secret not in listed.text and "token" not in listed.json()[0]
    with db.session() as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.token_hash != secret and secret not in row.token_hash

    # It works as a bearer token, as its owner, and records its use.
    me = client.get(f"{API}/auth/me", headers=_bearer(secret))
    assert me.status_code == 200 and me.json()["username"] == "editor"
    assert client.get(f"{API}/tokens", headers=editor).json()[0]["last_used_at"] is not None
    r = client.post(
        f"{API}/projects",
        headers=_bearer(secret),
        json={"name": "via-token", "source": {"type": "git", "url": "https://example.com/r.git"}},
    )
    assert r.status_code == 201, r.text

    # Another user can neither see nor revoke it.
    viewer = as_role("viewer")
    assert client.get(f"{API}/tokens", headers=viewer).json() == []
    assert client.delete(f"{API}/tokens/{created['id']}", headers=viewer).status_code == 404

    # Revoked: it stops at once; revoking again is harmless; unknown ids are 404.
    assert client.delete(f"{API}/tokens/{created['id']}", headers=editor).status_code == 204
    assert client.get(f"{API}/auth/me", headers=_bearer(secret)).status_code == 401
    assert client.get(f"{API}/tokens", headers=editor).json()[0]["revoked_at"] is not None
    assert client.delete(f"{API}/tokens/{created['id']}", headers=editor).status_code == 204
    assert client.delete(f"{API}/tokens/nope", headers=editor).status_code == 404

    # A token past its expiry stops working.
    admin = as_role("admin")
    r = client.post(f"{API}/tokens", headers=admin, json={"name": "short", "expires_in_days": 1})
    assert r.status_code == 201
    token = r.json()
    expires = datetime.fromisoformat(token["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(days=1)
    assert client.get(f"{API}/auth/me", headers=_bearer(token["token"])).status_code == 200
    with db.session() as s:
        s.get_one(ApiToken, token["id"]).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert client.get(f"{API}/auth/me", headers=_bearer(token["token"])).status_code == 401

    for bad in (
        {"name": ""},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_in_days": "soon"},
    ):
        r = client.post(f"{API}/tokens", headers=admin, json=bad)
        assert r.status_code == 422, bad
        assert r.json()["detail"][0]["loc"][1] in ("name", "expires_in_days")


def test_disabling_a_user_stops_their_jwt_and_api_tokens_at_once(
    client: TestClient, as_role: Callable[[str], Headers], admin: Headers
) -> None:
    editor = as_role("editor")
    secret = client.post(f"{API}/tokens", headers=editor, json={"name": "ci"}).json()["token"]
    editor_id = client.get(f"{API}/auth/me", headers=editor).json()["id"]

    r = client.patch(f"{API}/users/{editor_id}", headers=admin, json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert client.get(f"{API}/auth/me", headers=editor).status_code == 401
    assert client.get(f"{API}/auth/me", headers=_bearer(secret)).status_code == 401
    bad = client.post(
        f"{API}/auth/login", json={"username": "editor", "password": "editor-password-1"}
    )
    assert bad.status_code == 401

    # Enabled again, the same credentials work again.
    client.patch(f"{API}/users/{editor_id}", headers=admin, json={"disabled": False})
    assert client.get(f"{API}/auth/me", headers=editor).status_code == 200
    assert client.get(f"{API}/auth/me", headers=_bearer(secret)).status_code == 200
