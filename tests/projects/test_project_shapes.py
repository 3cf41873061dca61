"""Assay sets up and runs a project as its own developers do, outcome for outcome.

Each fixture shape (see `shapes.py`) is imported through the API and all its tests
run in a plan; the outcome of every node id must equal what `pip install -e .` plus
the project's declared test dependencies plus `pytest` gives in a fresh venv.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD, login, make_project
from tests.execution.helpers import wait_plan
from tests.imports import import_suite
from tests.projects.shapes import COLLECTION_ERRORS, SHAPES, reference_outcomes, write_shape

pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the shapes exercise environments, not the database."""
    import shutil

    path = tmp_path / "assay.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_outcomes_match_the_developers_setup(
    shape: str, live_client: TestClient, tmp_path: Path
) -> None:
    project_dir = write_shape(tmp_path / "project", shape)
    expected = reference_outcomes(project_dir, shape, tmp_path / "reference")
    assert expected, "the reference run collected nothing"

    c, h = live_client, login(live_client, "admin", ADMIN_PASSWORD)
    project = make_project(c, h, project_dir, name=shape)
    done = import_suite(c, project["id"], h)
    assert done["status"] == "finished", done
    assert done["collected"] == len(expected), (done, expected)
    assert [e["path"] for e in done["errors"]] == COLLECTION_ERRORS.get(shape, [])
    assert done["notes"] == []  # every plugin its addopts need is declared
    r = c.post("/api/v1/execution/plans", headers=h,
               json={"project_id": project["id"], "selection": {}})
    assert r.status_code == 201, r.text
    plan = wait_plan(c, h, r.json()["id"], timeout=600)
    cases = {t["id"]: t["reference"] for t in
             c.get("/api/v1/tests", headers=h,
                   params={"project_id": project["id"], "limit": 200}).json()["items"]}
    got = {cases[run["test_case_id"]]: run["status"] for run in plan["runs"]}
    failures = {cases[run["test_case_id"]]: run.get("failure") for run in plan["runs"]
                if run["status"] != expected.get(cases[run["test_case_id"]])}
    assert got == expected, failures


def test_an_addopts_plugin_the_project_does_not_declare_is_neutralized_and_said_so(
    live_client: TestClient, tmp_path: Path
) -> None:
    """The developers have pytest-xdist and pytest-cov; the project never declared them."""
    project_dir = tmp_path / "project"
    (project_dir / "tests").mkdir(parents=True)
    (project_dir / "pytest.ini").write_text(
        "[pytest]\naddopts = -n auto --cov=nothing --no-cov-on-fail -q\n")
    (project_dir / "tests" / "test_it.py").write_text("def test_it():\n    assert True\n")
    c, h = live_client, login(live_client, "admin", ADMIN_PASSWORD)
    project = make_project(c, h, project_dir, name="undeclared")
    done = import_suite(c, project["id"], h)
    assert done["status"] == "finished" and done["collected"] == 1, done
    [note] = done["notes"]
    assert "-n auto --cov=nothing --no-cov-on-fail" in note
    code_case = c.post("/api/v1/tests", headers=h, json={
        "project_id": project["id"], "title": "written",
        "code": "def test_written():\n    assert 1 + 1 == 2\n"})
    assert code_case.status_code == 201, code_case.text
    r = c.post("/api/v1/execution/plans", headers=h,
               json={"project_id": project["id"], "selection": {}})
    plan = wait_plan(c, h, r.json()["id"], timeout=300)
    assert [run["status"] for run in plan["runs"]] == ["passed", "passed"], plan["runs"]
    assert all("refused -n auto" in (run["output"] or "") for run in plan["runs"])


def test_generation_probes_and_validates_the_installed_project(
    live_client: TestClient, tmp_path: Path
) -> None:
    """A src layout whose import reads its own metadata and loads a C extension: the
    generator's probes and validation run it installed, as its plans do."""
    from tests.generation_api.test_generate_api import wait_generation

    project_dir = write_shape(tmp_path / "project", "c-extension")
    c, h = live_client, login(live_client, "admin", ADMIN_PASSWORD)
    project = make_project(c, h, project_dir, name="fastsum")
    r = c.post("/api/v1/tests/generate", headers=h, json={
        "project_id": project["id"], "mode": "function", "target": "fastsum:double",
        "auto_execute": True})
    assert r.status_code == 202, r.text
    gen = wait_generation(c, h, r.json()["generation_id"])
    assert gen["status"] == "finished", gen
    accepted = [x for x in gen["candidates"] if x["verdict"] == "accepted"]
    assert accepted, [(x["verdict"], x.get("failure")) for x in gen["candidates"]]
    plan = wait_plan(c, h, gen["plan_id"], timeout=300)
    assert plan["status"] == "passed", plan["runs"]
