"""`assay run` and `assay generate` against a real server, as CI would call them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.servers import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def server(db_url: str, data_dir: Path, env_cache: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(data_dir, db_url, env_cache, ADMIN_PASSWORD).start()
    yield srv
    srv.stop()


def assay(srv: ServerProcess, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSAY_URL": srv.url, "ASSAY_TOKEN": token, "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "assay", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_run_exit_code_follows_the_results(server: ServerProcess, project_dir: Path) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    token = api.post("/tokens", json={"name": "ci"}).json()["token"]
    project = api.post("/projects", json={
        "name": "calc", "source": {"type": "path", "path": str(project_dir)}}).json()
    for title, tag, code in [
        ("adds", "smoke", "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"),
        ("breaks", "nightly", "def test_broken():\n    assert 'a' == 'b'\n"),
    ]:
        r = api.post("/tests", json={"project_id": project["id"], "title": title,
                                     "code": code, "tags": [tag]})
        assert r.status_code == 201

    ok = assay(server, token, "run", "--project", "calc", "--tag", "smoke")
    assert ok.returncode == 0, ok.stderr
    assert "1 passed, 0 failed" in ok.stderr

    bad = assay(server, token, "run", "--project", "calc")
    assert bad.returncode == 1, bad.stderr
    assert "FAILED" in bad.stderr and "breaks" in bad.stderr and "assert 'a' == 'b'" in bad.stderr

    missing = assay(server, token, "run", "--project", "nope")
    assert missing.returncode != 0 and "no project named 'nope'" in missing.stderr

    no_token = assay(server, "", "run", "--project", "calc")
    assert no_token.returncode != 0 and "ASSAY_TOKEN" in no_token.stderr


def test_generate_from_a_function(server: ServerProcess, project_dir: Path) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    token = api.post("/tokens", json={"name": "ci"}).json()["token"]
    api.post("/projects", json={"name": "calc",
                                "source": {"type": "path", "path": str(project_dir)}})
    done = assay(server, token, "generate", "--project", "calc", "--function", "calc:div")
    assert done.returncode == 0, done.stderr
    assert "accepted" in done.stderr and "coverage of calc:div" in done.stderr
    assert "def test_div" in done.stderr


def test_project_settings_and_environment_from_the_cli(
    server: ServerProcess, project_dir: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    token = api.post("/tokens", json={"name": "cli"}).json()["token"]
    api.post("/projects", json={"name": "calc",
                                "source": {"type": "path", "path": str(project_dir)}})
    done = assay(server, token, "project", "settings", "calc", "--set", 'env={"TZ": "UTC"}',
                 "--set", 'pytest_args=["-x"]')
    assert done.returncode == 0, done.stderr
    assert api.get("/projects").json()["items"][0]["settings"] == {
        "env": {"TZ": "UTC"}, "pytest_args": ["-x"]}
    refused = assay(server, token, "project", "settings", "calc", "--set", "grups=[]")
    assert refused.returncode != 0 and "grups" in refused.stderr
    done = assay(server, token, "project", "settings", "calc", "--unset", "pytest_args")
    assert api.get("/projects").json()["items"][0]["settings"] == {"env": {"TZ": "UTC"}}
    shown = assay(server, token, "project", "environment", "calc")
    assert shown.returncode == 0, shown.stderr
    assert "Python 3." in shown.stdout and "project installed: no" in shown.stdout
