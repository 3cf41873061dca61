"""`assay user ...` and `assay token ...` against a real SQLite data dir."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assay.api.app import create_app
from assay.cli import app as cli
from assay.config import Settings, get_settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data = tmp_path / "data"
    monkeypatch.setenv("ASSAY_DATA_DIR", str(data))
    monkeypatch.setenv("ASSAY_DATABASE_URL", f"sqlite:///{data / 'assay.db'}")
    monkeypatch.setenv("ASSAY_SECRET_KEY", "cli-test-secret-key-0123456789abcdef")
    monkeypatch.delenv("ASSAY_NEW_USER_PASSWORD", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def run(*args: str, input: str | None = None, ok: bool = True) -> str:
    result = runner.invoke(cli, list(args), input=input)
    if ok:
        assert result.exit_code == 0, (args, result.output, result.exception)
    else:
        assert result.exit_code != 0, (args, result.output)
    return result.output


def test_users_and_tokens_from_the_command_line(data_dir: Path) -> None:
    out = run(
        "user", "create", "carol", "--role", "editor", input="carol-password\ncarol-password\n"
    )
    assert "created editor 'carol'" in out
    run("user", "create", "dave", "--role", "viewer", input="dave-password\ndave-password\n")
    # Bad input is refused with a message and a non-zero exit, and creates nothing.
    assert "already exists" in run(
        "user", "create", "CAROL", input="pw-123456\npw-123456\n", ok=False
    )
    assert "at least 8" in run("user", "create", "erin", input="short\nshort\n", ok=False)
    run("user", "create", "frank", "--role", "root", input="x\n", ok=False)

    listing = run("user", "list")
    assert re.search(r"carol\s.*editor", listing) and re.search(r"dave\s.*viewer", listing)
    assert "erin" not in listing and "frank" not in listing

    assert "now admin" in run("user", "set-role", "dave", "admin")
    assert re.search(r"dave\s.*admin", run("user", "list"))
    run("user", "set-role", "nobody", "admin", ok=False)

    token = run("token", "create", "carol", "--name", "ci").strip()
    assert token.startswith("assay_")
    listing = run("token", "list", "carol")
    assert "ci" in listing and token not in listing and token[:12] in listing
    token_id = re.search(r"\b[0-9a-f]{32}\b", listing)
    assert token_id, listing

    # The token works against the API served from the same data dir...
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, orchestrator=False)) as api:
        auth = {"Authorization": f"Bearer {token}"}
        me = api.get("/api/v1/auth/me", headers=auth)
        assert me.status_code == 200 and me.json()["username"] == "carol"
        assert me.json()["role"] == "editor"
        r = api.post("/api/v1/auth/login", json={"username": "carol", "password": "carol-password"})
        assert r.status_code == 200

        # ...stops when revoked...
        assert "revoked" in run("token", "revoke", token_id.group(0))
        assert api.get("/api/v1/auth/me", headers=auth).status_code == 401
        run("token", "revoke", "0" * 32, ok=False)

        # ...and a disabled user's tokens stop at once; --enable undoes it.
        second = run("token", "create", "carol", "--name", "other").strip()
        auth = {"Authorization": f"Bearer {second}"}
        assert api.get("/api/v1/auth/me", headers=auth).status_code == 200
        assert "disabled" in run("user", "disable", "carol")
        assert api.get("/api/v1/auth/me", headers=auth).status_code == 401
        assert re.search(r"carol\s.*yes", run("user", "list"))
        run("user", "disable", "carol", "--enable")
        assert api.get("/api/v1/auth/me", headers=auth).status_code == 200
    run("token", "create", "nobody", "--name", "x", ok=False)
