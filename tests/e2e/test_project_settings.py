"""Projects → Settings: a person edits a project's settings and sees what was detected."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.e2e import helpers as h
from tests.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def test_edit_settings_and_see_the_detected_environment(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    (project_dir / "requirements-dev.txt").write_text("iniconfig\n")
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    h.nav(page, "Projects")
    page.get_by_role("button", name="Settings of calc").click()
    dialog = page.get_by_role("dialog", name="Settings of calc")
    detected = dialog.get_by_role("region", name="Detected environment")
    expect(detected.get_by_role("row").filter(has_text="requirements-dev.txt")).to_contain_text(
        "iniconfig")
    dialog.get_by_label("Environment variables (KEY=value per line)").fill("TZ=UTC")
    dialog.get_by_label("Extra pytest arguments").fill("-p no:randomly")
    h.shot(page, "project-settings")
    dialog.get_by_role("button", name="Save settings").click()
    expect(dialog).to_be_hidden()
    stored = api.get(f"/projects/{project['id']}").json()["settings"]
    assert stored == {"env": {"TZ": "UTC"}, "pytest_args": ["-p", "no:randomly"]}

    page.get_by_role("button", name="Settings of calc").click()
    dialog.get_by_label("Python version").fill("2.7")
    dialog.get_by_role("button", name="Save settings").click()
    expect(dialog.get_by_role("alert")).to_contain_text("is not a Python version")


def test_import_runs_in_the_background_and_shows_what_it_found(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    (project_dir / "tests" / "test_broken_import.py").write_text("import not_installed_here\n")
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    h.make_project(api, project_dir, name="calc")
    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    h.nav(page, "Projects")
    page.get_by_role("button", name="Import tests of calc").click()
    expect(page.get_by_role("status").filter(has_text="Imported:")).to_contain_text(
        "3 collected, 3 created", timeout=120_000)
    errors = page.get_by_role("group", name="Collection errors")
    expect(errors).to_contain_text("1 file could not be collected")
    errors.locator("summary").click()
    expect(errors).to_contain_text("tests/test_broken_import.py")
    expect(errors).to_contain_text("not_installed_here")
    h.shot(page, "projects-import")
