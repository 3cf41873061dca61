"""Scenario 4: a viewer sees every page but no control that changes anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.e2e import helpers as h
from tests.gates import Gate
from tests.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def assert_no_mutating_controls(page: Page, where: str) -> None:
    for name in h.MUTATING:
        found = page.get_by_role("button", name=name, exact=True)
        assert found.count() == 0, f"{where}: a viewer sees the {name!r} button"
    assert page.get_by_role("checkbox").count() == 0, f"{where}: a viewer sees checkboxes"
    assert page.get_by_role("region", name="Bulk actions").count() == 0, where


def test_viewer_sees_no_mutating_controls(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    admin = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(admin, project_dir, name="calc")
    quick = h.add_test(admin, project["id"], "quick check", h.sleeping_test("quick", 0))
    # The active plan's test holds until released, so it is still running whenever the
    # page gets there, however slow the login and the pages before are.
    gate = Gate(Path(server.env["ASSAY_DATA_DIR"]))
    slow = h.add_test(admin, project["id"], "slow check", gate.code("test_slow"))
    finished = h.queue_plan(admin, project["id"], [quick], name="done")
    h.wait_plan(admin, finished["id"], {"passed"})
    active = h.queue_plan(admin, project["id"], [slow], name="active")
    password = h.make_user(admin, "vera", "viewer")

    h.login(page, server.url, "vera", password)
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Test Cases")).to_be_visible()
    expect(navigation.get_by_role("link", name="Users")).to_have_count(0)

    h.nav(page, "Projects")
    expect(page.get_by_role("button", name="Open calc")).to_be_visible()
    expect(page.get_by_role("button", name="Import tests of calc")).to_have_count(0)
    assert_no_mutating_controls(page, "Projects")

    h.nav(page, "Test Cases")
    table = page.get_by_role("table", name="Test cases")
    expect(table.get_by_role("row")).to_have_count(3)
    assert_no_mutating_controls(page, "Test Cases")
    table.get_by_role("button", name="quick check").click()
    dialog = page.get_by_role("dialog", name="Test case")
    expect(dialog.get_by_label("Title")).to_have_attribute("readonly", "")
    code = dialog.get_by_label("Test code")
    expect(code).to_have_attribute("aria-readonly", "true")
    before = code.inner_text()
    assert "def test_quick" in before
    code.click()
    page.keyboard.type("oops")
    page.wait_for_timeout(200)
    assert code.inner_text() == before, "the viewer could edit the code"
    expect(dialog.get_by_role("button", name="Close", exact=True).last).to_be_visible()
    assert_no_mutating_controls(page, "the test case dialog")
    dialog.get_by_role("button", name="Close", exact=True).last.click()

    # A running plan offers no Cancel; a finished one no Rerun.
    page.goto(f"{server.url}/execution/{active['id']}")
    expect(page.get_by_role("status", name="Plan status")).to_have_text("running",
                                                                        timeout=30_000)
    assert_no_mutating_controls(page, "a running plan")
    gate.wait_started()
    assert gate.release() == 1
    page.get_by_role("link", name="Plan done").click()
    expect(page.get_by_role("status", name="Plan status")).to_have_text("passed")
    expect(page.get_by_role("table", name="Test runs").get_by_role("row")).to_have_count(2)
    assert_no_mutating_controls(page, "a finished plan")

    h.nav(page, "Insights")
    assert_no_mutating_controls(page, "Insights")
    h.nav(page, "Orchestrator")
    expect(page.get_by_role("status", name="Orchestrator status")).to_be_visible()
    assert_no_mutating_controls(page, "Orchestrator")

    # The server refuses anyway: the hidden controls are not the only guard.
    viewer = server.client(server.login("vera", password))
    assert viewer.post("/tests", json={"project_id": project["id"], "title": "x",
                                       "code": "def test_x():\n    pass\n"}).status_code == 403
    assert viewer.post(f"/execution/plans/{active['id']}/cancel").status_code == 403
    assert viewer.post("/execution/orchestrator/poll").status_code == 403
    assert viewer.post("/execution/plans", json={
        "project_id": project["id"], "test_case_ids": [quick]}).status_code == 403
