"""Project settings (stored, and `[tool.assay]` in the project) reach what tests run in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD, login, make_project
from tests.execution.helpers import wait_plan
from tests.imports import import_suite

pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "assay.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


SETTINGS_PROJECT = {
    "pyproject.toml": """\
[project]
name = "settled"
version = "0.2"
requires-python = ">=3.8"

[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[dependency-groups]
test = ["iniconfig"]
lint = ["six"]

[tool.setuptools]
py-modules = ["settled"]

[tool.assay]
pytest_args = ["-m", "not slow"]
""",
    "settled.py": "VALUE = 1\n",
    "tests/test_env.py": """\
import os

import pytest


def test_timezone_from_settings():
    assert os.environ["TZ"] == "Pacific/Auckland"


def test_lint_group_installed():
    import six  # only in the "lint" group the settings chose

    assert six


@pytest.mark.slow
def test_deselected_by_tool_assay():
    raise AssertionError("pytest_args from [tool.assay] should have deselected this")
""",
    "pytest.ini": "[pytest]\nmarkers = slow: slow tests\n",
}


def test_settings_and_tool_assay_shape_the_environment_and_the_run(
    live_client: TestClient, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    for name, text in SETTINGS_PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    c, h = live_client, login(live_client, "admin", ADMIN_PASSWORD)
    project = make_project(c, h, root, name="settled")

    r = c.patch(f"/api/v1/projects/{project['id']}", headers=h,
                json={"settings": {"groups": ["lint"], "env": {"TZ": "Pacific/Auckland"}}})
    assert r.status_code == 200, r.text
    assert r.json()["settings"] == {"groups": ["lint"], "env": {"TZ": "Pacific/Auckland"}}
    bad = c.patch(f"/api/v1/projects/{project['id']}", headers=h,
                  json={"settings": {"grups": ["lint"]}})
    assert bad.status_code == 422 and "grups" in bad.text
    bad = c.patch(f"/api/v1/projects/{project['id']}", headers=h,
                  json={"settings": {"env": {"ASSAY_SECRET_KEY": "x"}}})
    assert bad.status_code == 422 and "set by Assay" in bad.text

    env = c.get(f"/api/v1/projects/{project['id']}/environment", headers=h)
    assert env.status_code == 200, env.text
    body = env.json()
    assert body["settings"]["pytest_args"] == ["-m", "not slow"]  # from [tool.assay]
    used = {d["source"]: d["used"] for d in body["declarations"]}
    assert used == {"pyproject.toml [dependency-groups] lint": True}
    assert {r["requirement"] for r in body["requirements"]} == {"six"}
    assert body["install_project"] is True and body["python_reason"]

    done = import_suite(c, project["id"], h)
    assert done["collected"] == 2, done  # the slow one deselected by [tool.assay]
    r = c.post("/api/v1/execution/plans", headers=h,
               json={"project_id": project["id"], "selection": {}})
    plan = wait_plan(c, h, r.json()["id"], timeout=300)
    assert [run["status"] for run in plan["runs"]] == ["passed", "passed"], plan["runs"]

    described = c.get(f"/api/v1/projects/{project['id']}/environment", headers=h).json()
    packages = {p["name"].lower() for p in described["environment"]["packages"]}
    assert {"six", "pytest", "setuptools"} <= packages
    [install] = described["environment"]["project_installs"]
    assert install["state"] == "ready" and install["mode"] == "editable"
