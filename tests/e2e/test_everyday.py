"""What a person does every day, in a real browser against a real server: a test case's
own page and history, editing and deleting a project, passwords, confirmations, and
archived cases hidden unless asked for. Screenshots of these pages at 1280 and 1920."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.e2e import helpers as h
from tests.e2e.conftest import VIEWPORT
from tests.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

SIZES = {"1280": {"width": 1280, "height": 800}, "1920": {"width": 1920, "height": 1080}}


def shots(page: Page, name: str, hide: str | None = None) -> None:
    """`docs/screenshots/<name>-1280.png` and `-1920.png`: the page at both widths."""
    for suffix, size in SIZES.items():
        page.set_viewport_size(size)
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        ), f"{name} scrolls sideways at {suffix} px"
        h.shot(page, f"{name}-{suffix}", hide=hide)
    page.set_viewport_size(VIEWPORT)


def test_a_test_cases_page_lists_its_runs_and_runs_it(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    flaky = ("import os\n\n\ndef test_sometimes():\n"
             "    assert os.environ.get('NEVER_SET') is None\n")
    case = h.add_test(api, project["id"], "environment is clean", flaky, tags=["api:v2"])
    failing = h.add_test(api, project["id"], "arithmetic", h.sleeping_test("sum", 0, ok=False))
    first = h.queue_plan(api, project["id"], [case, failing], name="nightly")
    h.wait_plan(api, first["id"], {"passed", "failed", "error"})

    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    h.nav(page, "Test Cases")
    table = page.get_by_role("table", name="Test cases")
    clean = table.get_by_role("link", name="Last result of environment is clean: passed")
    expect(clean).to_be_visible()
    expect(table.get_by_role("link", name="Last result of arithmetic: failed")).to_be_visible()
    # The tag filter's prefix rule: `api*` matches `api:v2`, `api` alone does not.
    page.get_by_label("Tag filter").fill("api")
    expect(table.get_by_role("row")).to_have_count(1)
    page.get_by_label("Tag filter").fill("api*")
    expect(table.get_by_role("row")).to_have_count(2)
    page.get_by_label("Tag filter").fill("")
    expect(table.get_by_role("row")).to_have_count(3)

    # The editor links to the page; the page lists the run with its plan.
    table.get_by_role("button", name="arithmetic").click()
    dialog = page.get_by_role("dialog", name="Edit test case")
    expect(dialog.get_by_role("button", name="Run test")).to_be_visible()
    dialog.get_by_role("link", name="Its page and history of runs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("arithmetic")
    runs = page.get_by_role("table", name="Runs of this test")
    expect(runs.get_by_role("row")).to_have_count(2)
    expect(runs.get_by_role("row").nth(1)).to_contain_text("failed")
    expect(runs.get_by_role("link", name="nightly")).to_be_visible()
    expect(page.get_by_role("group", name="Last result")).to_contain_text("failed")
    expect(page.get_by_role("img", name="Last 1 runs: 0 of 1 finished runs passed")).to_be_visible()

    # Run goes to the new plan; back on the page, the history has both runs.
    page.get_by_role("button", name="Run test").click()
    expect(page).to_have_url(re.compile(r"/execution/\w+$"))
    expect(page.get_by_role("status", name="Plan status")).to_have_text("failed", timeout=60_000)
    page.go_back()
    expect(runs.get_by_role("row")).to_have_count(3)
    expect(runs.locator("tbody tr[data-status=failed]")).to_have_count(2)
    runs.get_by_role("row").nth(1).locator("summary").click()
    expect(runs).to_contain_text("arithmetic is broken")
    shots(page, "test-case")

    # Delete asks first; Cancel keeps it.
    page.get_by_role("button", name="Delete test case").click()
    confirm = page.get_by_role("dialog", name="Delete this test case?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert api.get(f"/tests/{failing}").status_code == 200
    page.get_by_role("button", name="Delete test case").click()
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Test Cases")
    assert api.get(f"/tests/{failing}").status_code == 404


def test_archived_cases_are_hidden_until_asked_for(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    h.add_test(api, project["id"], "kept", h.sleeping_test("kept", 0))
    h.add_test(api, project["id"], "retired", h.sleeping_test("retired", 0), status="archived")
    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    h.nav(page, "Projects")
    row = page.get_by_role("row").filter(has_text="calc")
    expect(row.get_by_role("cell").nth(2)).to_have_text("1+1 archived")
    h.nav(page, "Test Cases")
    table = page.get_by_role("table", name="Test cases")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).not_to_contain_text("retired")
    show = page.get_by_role("button", name="Show archived")
    expect(show).to_have_attribute("aria-pressed", "false")
    show.click()
    expect(show).to_have_attribute("aria-pressed", "true")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table).to_contain_text("retired")


def test_edit_a_project_and_delete_it_with_force(
    page: Page, server: ServerProcess, project_dir: Path, tmp_path: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    h.add_test(api, project["id"], "kept", h.sleeping_test("kept", 0))
    empty = h.make_project(api, project_dir, name="scratch")
    moved = tmp_path / "moved"
    moved.mkdir()
    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    h.nav(page, "Projects")

    page.get_by_role("button", name="Edit calc").click()
    dialog = page.get_by_role("dialog", name="Edit calc")
    dialog.get_by_label("Name").fill("calculator")
    dialog.get_by_label("Description").fill("Adds and divides")
    dialog.get_by_label("Path on the server").fill(str(tmp_path / "nowhere"))
    dialog.get_by_role("button", name="Save project").click()
    expect(dialog.get_by_role("alert")).to_contain_text("is not a directory on the server")
    dialog.get_by_label("Path on the server").fill(str(moved))
    shots(page, "project-edit", hide=str(tmp_path))
    dialog.get_by_role("button", name="Save project").click()
    expect(dialog).to_be_hidden()
    edited = page.get_by_role("row").filter(has_text="calculator")
    expect(edited).to_contain_text("Adds and divides")
    stored = api.get(f"/projects/{project['id']}").json()
    assert stored["name"] == "calculator" and stored["source"]["path"] == str(moved.resolve())

    # An empty project goes after one confirmation.
    page.get_by_role("button", name="Delete scratch").click()
    page.get_by_role("dialog", name="Delete scratch?").get_by_role(
        "button", name="Delete project").click()
    expect(page.get_by_role("button", name="Delete scratch")).to_have_count(0)
    assert api.get(f"/projects/{empty['id']}").status_code == 404

    # One with test cases: the server's 409 is shown, with the choice to force it.
    page.get_by_role("button", name="Delete calculator").click()
    page.get_by_role("dialog", name="Delete calculator?").get_by_role(
        "button", name="Delete project").click()
    forced = page.get_by_role("dialog", name="Delete calculator and its test cases?")
    expect(forced.get_by_role("alert")).to_contain_text("has 1 test case(s)")
    shots(page, "project-delete")
    assert api.get(f"/projects/{project['id']}").status_code == 200
    forced.get_by_role("button", name="Delete anyway (force)").click()
    expect(forced).to_be_hidden()
    expect(page.get_by_role("button", name="Delete calculator")).to_have_count(0)
    assert api.get(f"/projects/{project['id']}").status_code == 404


def test_change_your_password_then_log_in_with_it(
    page: Page, server: ServerProcess
) -> None:
    admin = server.client(server.login("admin", ADMIN_PASSWORD))
    password = h.make_user(admin, "erin", "editor")
    h.login(page, server.url, "erin", password)
    h.nav(page, "Settings")
    form = page.get_by_role("form", name="Change password")
    form.get_by_label("Current password").fill("not-my-password")
    form.get_by_label("New password", exact=True).fill("erin-new-password-2")
    form.get_by_label("New password again").fill("erin-new-password-2")
    form.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("current password is wrong")

    form.get_by_label("Current password").fill(password)
    form.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status", name="Password changed")).to_be_visible()
    # This session goes on with the new token.
    h.nav(page, "Test Cases")
    h.nav(page, "Settings")
    expect(page.get_by_text("Signed in as")).to_contain_text("erin")

    page.get_by_role("button", name="Log out").click()
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    h.login(page, server.url, "erin", "erin-new-password-2")


def test_an_admin_resets_a_password_and_disabling_asks_first(
    page: Page, server: ServerProcess
) -> None:
    admin = server.client(server.login("admin", ADMIN_PASSWORD))
    old = h.make_user(admin, "vera", "viewer")
    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    h.nav(page, "Users")
    page.get_by_role("button", name="Reset password of vera").click()
    dialog = page.get_by_role("dialog", name="Reset the password of vera")
    dialog.get_by_role("button", name="Reset password").click()
    shown = dialog.get_by_role("status", name="New password")
    expect(shown).to_contain_text("not shown again")
    generated = shown.locator("code").inner_text()
    assert len(generated) >= 12
    shots(page, "users-reset-password", hide=generated)
    dialog.get_by_role("button", name="Done").click()
    assert server.login("vera", generated)
    assert admin.post("/auth/login", json={"username": "vera", "password": old}).status_code == 401

    # Disable asks first; Cancel leaves the user active.
    row = page.get_by_role("row").filter(has_text="vera")
    row.get_by_role("button", name="Disable vera").click()
    page.get_by_role("dialog", name="Disable vera?").get_by_role("button", name="Cancel").click()
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Disable vera").click()
    page.get_by_role("dialog", name="Disable vera?").get_by_role(
        "button", name="Disable user").click()
    expect(row).to_contain_text("disabled")


def test_restart_and_revoke_ask_first(page: Page, server: ServerProcess) -> None:
    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    h.nav(page, "Orchestrator")
    status = page.get_by_role("status", name="Orchestrator status")
    expect(status).to_have_text("healthy")
    before = server.client(server.login("admin", ADMIN_PASSWORD)).get(
        "/execution/metrics").json()["restarts"]
    page.get_by_role("button", name="Restart", exact=True).click()
    confirm = page.get_by_role("dialog", name="Restart the orchestrator?")
    shots(page, "orchestrator-restart-confirm")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(page.get_by_role("status", name="Restart result")).to_have_count(0)
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    assert api.get("/execution/metrics").json()["restarts"] == before
    expect(status).to_have_text("healthy")
    page.get_by_role("button", name="Restart", exact=True).click()
    confirm.get_by_role("button", name="Restart orchestrator").click()
    expect(page.get_by_role("status", name="Restart result")).to_contain_text(
        "Orchestrator restarted")

    # Revoke asks first, and the once-shown banner goes with the token it showed.
    h.nav(page, "Settings")
    form = page.get_by_role("form", name="Create API token")
    form.get_by_label("Token name").fill("ci")
    form.get_by_role("button", name="Create token").click()
    banner = page.get_by_role("status", name="New token")
    expect(banner).to_contain_text("Copy it now")
    page.get_by_role("button", name="Revoke ci").click()
    page.get_by_role("dialog", name="Revoke ci?").get_by_role("button", name="Cancel").click()
    expect(banner).to_be_visible()
    page.get_by_role("button", name="Revoke ci").click()
    page.get_by_role("dialog", name="Revoke ci?").get_by_role(
        "button", name="Revoke token").click()
    expect(banner).to_have_count(0)
    expect(page.get_by_role("table", name="API tokens")).to_contain_text("revoked")
