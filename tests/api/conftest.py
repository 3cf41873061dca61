"""Helpers for the API tests: the app's own database, and small builders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from assay.config import Settings
from assay.db.engine import Database
from assay.db.models import User
from assay.security import access_tokens

API = "/api/v1"

PASSING = "def test_ok():\n    assert 1 + 1 == 2\n"


@pytest.fixture
def db(client: TestClient) -> Database:
    """The app's own database, to check what a request really wrote."""
    database: Database = client.app.state.ctx.db  # type: ignore[attr-defined]
    return database


@pytest.fixture
def admin(client: TestClient, db: Database, settings: Settings) -> dict[str, str]:
    """Headers of the bootstrap admin: a real access token signed with the app's key.

    Issued directly rather than through a login, to spare every test an argon2
    verification; logging in is tested on its own in test_auth.
    """
    with db.session() as s:
        admin_id = s.scalars(select(User.id).where(User.username == "admin")).one()
    token = access_tokens.issue(admin_id, settings.resolved_secret_key(), 60)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def project(client: TestClient, admin: dict[str, str], project_dir: Path) -> dict[str, Any]:
    r = client.post(
        f"{API}/projects",
        headers=admin,
        json={"name": "sample", "source": {"type": "path", "path": str(project_dir)}},
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def new_test(
    client: TestClient, admin: dict[str, str], project: dict[str, Any]
) -> Callable[..., dict[str, Any]]:
    """`new_test(title=..., **fields)` → a created test case (201 asserted)."""

    def make(**fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"project_id": project["id"], "title": "a test", "code": PASSING}
        body.update(fields)
        if "reference" in fields and "code" not in fields:
            body.pop("code")
        r = client.post(f"{API}/tests", headers=admin, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    return make
