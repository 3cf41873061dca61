"""Scenario 1: write a test case in the editor, run it, watch it pass without reloading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.e2e import helpers as h
from tests.gates import Gate
from tests.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

CODE = (
    "import time\n\n\n"
    "def test_sleepy_addition():\n"
    "    time.sleep(1.5)\n"
    "    assert 2 + 3 == 5\n"
)


def test_write_run_and_watch_a_test_case_pass_live(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    h.login(page, server.url, "admin", ADMIN_PASSWORD)

    # Create the project in the UI, from a directory on the server.
    h.nav(page, "Projects")
    page.get_by_role("button", name="New project").click()
    dialog = page.get_by_role("dialog", name="New project")
    dialog.get_by_label("Name").fill("calc")
    dialog.get_by_label("Description").fill("A tiny calculator")
    dialog.get_by_role("radio", name="Local path").check()
    dialog.get_by_label("Path on the server").fill(str(project_dir))
    dialog.get_by_role("button", name="Create project").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Open calc")).to_be_visible()
    expect(page.get_by_label("Project").locator("option:checked")).to_have_text("calc")

    # Write the test case in the code editor.
    h.nav(page, "Test Cases")
    page.get_by_role("button", name="New test case").click()
    editor = page.get_by_role("dialog", name="New test case")
    editor.get_by_label("Title").fill("sleepy addition")
    editor.get_by_label("Tags (comma separated)").fill("smoke, e2e")
    editor.get_by_label("Priority").select_option("high")
    code = editor.get_by_label("Test code")
    code.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(CODE)
    expect(code).to_contain_text("time.sleep(1.5)")
    editor.get_by_role("button", name="Create test case").click()
    expect(editor).to_be_hidden()
    table = page.get_by_role("table", name="Test cases")
    expect(table.get_by_role("row").filter(has_text="sleepy addition")).to_be_visible()

    # Hold the only worker slot with another plan, so this one is seen queued first.
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project_id = api.get("/projects").json()["items"][0]["id"]
    stored = api.get("/tests", params={"project_id": project_id}).json()["items"]
    assert [t["code"] for t in stored] == [CODE], "the editor did not save the code typed"
    gate = Gate(Path(server.env["ASSAY_DATA_DIR"]))  # held until the page has seen "queued"
    h.queue_plan(api, project_id, [h.add_test(
        api, project_id, "blocker", gate.code("test_blocker"))], name="blocker")
    gate.wait_started()

    page.get_by_role("checkbox", name="Select sleepy addition").check()
    bulk = page.get_by_role("region", name="Bulk actions")
    bulk.get_by_label("Run priority").select_option("high")
    bulk.get_by_role("button", name="Run selected").click()
    expect(page).to_have_url(re.compile(r"/execution/[0-9a-f-]+$"))
    h.mark_no_reload(page)
    h.record_texts(page, "Plan status")

    status = page.get_by_role("status", name="Plan status")
    expect(status).to_have_text("queued", timeout=10_000)
    expect(page.get_by_role("list", name="Queued plans")).to_be_visible()
    assert gate.release() == 1
    expect(status).to_have_text("running", timeout=60_000)
    expect(status).to_have_attribute("data-status", "running")
    runs = page.get_by_role("table", name="Test runs")
    row = runs.get_by_role("row").filter(has_text="sleepy")
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "running")
    h.shots(page, "execution-running")
    expect(status).to_have_text("passed", timeout=60_000)

    expect(row.locator("[data-status]")).to_have_attribute("data-status", "passed")
    progress = page.get_by_role("progressbar", name="Plan progress")
    expect(progress).to_have_attribute("aria-valuetext", "1 of 1 finished")
    finished = page.get_by_role("list", name="Finished plans")
    expect(finished.get_by_role("link", name="Plan blocker")).to_be_visible()
    expect(finished.get_by_role("link")).to_have_count(2)

    h.assert_not_reloaded(page)
    seen = h.recorded_texts(page, "Plan status")
    assert [s for s in seen if s in ("queued", "running", "passed")] == [
        "queued", "running", "passed"], seen
