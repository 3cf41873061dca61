"""Failures of working with a project's code answer JSON a person can act on.

Importing a suite snapshots the project, builds its environment and collects it
in the sandbox; starting a generation and listing symbols read its tree. Each
failure here is real (a missing git ref, a requirement that cannot install, a
test module that does not import, a sandbox directory the sandbox user cannot
reach), and each used to be, or could be, a plain-text 500.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.api.app import create_app
from assay.config import Settings
from tests.api.conftest import API
from tests.conftest import ADMIN_PASSWORD, login, make_project
from tests.gates import Gate
from tests.imports import import_suite

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
pytestmark = sqlite_only  # what is tested is the route's handling, not the database


def _detail(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str), detail
    return detail


def _import(client: TestClient, admin: dict[str, str], project: dict[str, Any]) -> Any:
    """The import's final record (imports run in the background)."""
    return import_suite(client, project["id"], admin, prefix=API)


def _failed(record: dict[str, Any]) -> str:
    """The detail of an import that failed as a whole, which a person can act on."""
    assert record["status"] == "failed", record
    assert isinstance(record["detail"], str), record
    return str(record["detail"])


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real repository with one commit on `main`."""
    repo = tmp_path / "repo"
    (repo / "calc").mkdir(parents=True)
    (repo / "calc" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def test_a_git_ref_that_does_not_exist_is_said_everywhere_the_tree_is_read(
    client: TestClient, admin: dict[str, str], git_repo: Path
) -> None:
    r = client.post(
        f"{API}/projects", headers=admin,
        json={"name": "g", "source": {"type": "git", "url": str(git_repo), "ref": "no-such"}},
    )
    assert r.status_code == 201, r.text
    project = r.json()

    detail = _failed(_import(client, admin, project))
    assert detail.startswith("the project's source cannot be read") and "'no-such'" in detail

    r = client.post(
        f"{API}/tests/generate", headers=admin,
        json={"project_id": project["id"], "mode": "function", "target": "calc:add"},
    )
    assert "'no-such' not found" in _detail(r, 422)
    r = client.get(f"{API}/projects/{project['id']}/symbols", headers=admin)
    assert "'no-such' not found" in _detail(r, 422)


def test_requirements_that_cannot_install_are_422_with_the_installer_output(
    client: TestClient, admin: dict[str, str], project_dir: Path
) -> None:
    (project_dir / "requirements.txt").write_text("this is not a requirement ===\n")
    project = make_project(client, admin, project_dir)
    detail = _failed(_import(client, admin, project))
    assert detail.startswith("building the project's environment failed")
    assert "comes from requirements.txt" in detail
    assert "this is not a requirement" in detail  # the installer's own complaint follows


def test_a_build_failure_names_the_declaration_the_requirement_came_from(
    client: TestClient, admin: dict[str, str], project_dir: Path
) -> None:
    (project_dir / "requirements-dev.txt").write_text("assay-no-such-distribution-anywhere\n")
    project = make_project(client, admin, project_dir)
    detail = _failed(_import(client, admin, project))
    assert ("'assay-no-such-distribution-anywhere' comes from requirements-dev.txt"
            in detail), detail


def test_a_module_that_fails_to_collect_is_listed_and_the_rest_imported(
    client: TestClient, admin: dict[str, str], project_dir: Path
) -> None:
    """As in pytest, a broken module costs its own tests only; fixed, it imports next time."""
    project = make_project(client, admin, project_dir)
    first = _import(client, admin, project)
    assert first["status"] == "finished" and first["errors"] == []
    imported = first["collected"]

    broken = project_dir / "tests" / "test_broken.py"
    broken.write_text("import no_such_module_here\n\n\ndef test_later():\n    pass\n")
    body = _import(client, admin, project)
    assert body["status"] == "finished", body
    [error] = body["errors"]
    assert error["path"] == "tests/test_broken.py" and "no_such_module_here" in error["error"]
    assert (body["collected"], body["created"], body["archived"]) == (imported, 0, 0)
    shown = client.get(f"{API}/projects/{project['id']}", headers=admin).json()["last_import"]
    assert shown["errors"] == body["errors"] and shown["collected"] == imported

    broken.write_text("def test_later():\n    pass\n")
    fixed = _import(client, admin, project)
    assert fixed["errors"] == [] and fixed["created"] == 1


def test_a_conftest_that_does_not_import_fails_the_import_with_pytest_output(
    client: TestClient, admin: dict[str, str], project_dir: Path
) -> None:
    (project_dir / "conftest.py").write_text("import no_such_module_here\n")
    project = make_project(client, admin, project_dir)
    detail = _failed(_import(client, admin, project))
    assert "fix the project's tests and try again" in detail
    assert "no_such_module_here" in detail
    assert client.get(f"{API}/tests", headers=admin).json()["total"] == 0


@pytest.fixture
def unreachable_sandbox_client(
    settings: Settings, tmp_path: Path
) -> Iterator[TestClient]:
    """`process` isolation with ASSAY_SANDBOX_DIR under pytest's private (0700) tmp dir.

    As root the sandboxed process runs as `nobody`, which cannot reach it: an
    operator's misconfiguration, and the sandbox refuses to start.
    """
    private = tmp_path / "sandbox-tree"
    private.mkdir()
    configured = settings.model_copy(update={"sandbox": "process", "sandbox_dir": private})
    with TestClient(create_app(configured, orchestrator=False)) as c:
        yield c


@pytest.mark.skipif(os.geteuid() != 0, reason="only root drops tests to an unprivileged uid")
def test_a_sandbox_dir_the_sandbox_user_cannot_reach_fails_the_import_saying_so(
    unreachable_sandbox_client: TestClient, project_dir: Path, tmp_path: Path
) -> None:
    c = unreachable_sandbox_client
    headers = login(c, "admin", ADMIN_PASSWORD)
    project = make_project(c, headers, project_dir)
    detail = _failed(_import(c, headers, project))
    assert detail.startswith("the sandbox cannot run on this server:")
    assert "not reachable by the sandbox uid" in detail
    assert str(tmp_path) in detail  # names where to look


def test_an_import_runs_in_the_background_and_one_at_a_time(
    client: TestClient, admin: dict[str, str], project_dir: Path
) -> None:
    """The request answers while collection is still going (a conftest holds it)."""
    settings = client.app.state.ctx.settings  # type: ignore[attr-defined]
    gate = Gate(settings.workspaces_dir)
    (project_dir / "conftest.py").write_text(gate.code("hold_collection") +
                                             "\n\nhold_collection()\n")
    project = make_project(client, admin, project_dir)
    url = f"{API}/projects/{project['id']}/import-tests"
    assert client.get(url, headers=admin).status_code == 404  # never imported
    r = client.post(url, headers=admin)
    assert r.status_code == 202 and r.json()["status"] == "running", r.text
    gate.wait_started()
    assert client.get(url, headers=admin).json()["status"] == "running"
    again = client.post(url, headers=admin)
    assert again.status_code == 409 and r.json()["id"] in again.json()["detail"]
    assert gate.release() == 1
    deadline = time.monotonic() + 120
    while (record := client.get(url, headers=admin).json())["status"] == "running":
        assert time.monotonic() < deadline, record
        time.sleep(0.05)
    assert record["status"] == "finished" and record["collected"] == 3, record
