"""Every page renders real data; each run refreshes the screenshots in docs/screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.e2e import helpers as h
from tests.imports import import_suite
from tests.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

PARSER_TEST = '''from calc import add, div


def test_add_is_commutative():
    for a, b in [(1, 2), (-3, 7), (0, 0)]:
        assert add(a, b) == add(b, a)


def test_div_by_zero_raises():
    import pytest

    with pytest.raises(ZeroDivisionError):
        div(1, 0)
'''


def test_every_page_renders_and_is_screenshotted(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    api.patch(f"/projects/{project['id']}", json={"description": "A tiny calculator"})
    assert import_suite(api, project["id"], prefix="")["status"] == "finished"
    h.add_test(api, project["id"], "add and div properties", PARSER_TEST,
               tags=["smoke"], priority="high")
    h.add_test(api, project["id"], "slow division", h.sleeping_test("slow_division", 0.3),
               tags=["slow"], priority="low")
    ids = [t["id"] for t in api.get("/tests", params={"project_id": project["id"]}).json()["items"]]
    first = h.queue_plan(api, project["id"], ids, name="nightly")
    h.wait_plan(api, first["id"], {"passed", "failed", "error"})
    second = h.queue_plan(api, project["id"], ids, name="after fix", priority="high")
    final = h.wait_plan(api, second["id"], {"passed", "failed", "error"})
    assert final["status"] == "failed", final  # the project's own test_broken fails
    h.make_user(api, "vera", "viewer")

    page.goto(f"{server.url}/login")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    h.shots(page, "login")
    h.login(page, server.url, "admin", ADMIN_PASSWORD)

    h.nav(page, "Projects")
    expect(page.get_by_role("button", name="Open calc")).to_be_visible()
    h.shots(page, "projects", hide=str(project_dir.parent))

    h.nav(page, "Test Cases")
    table = page.get_by_role("table", name="Test cases")
    expect(table.get_by_role("row")).to_have_count(len(ids) + 1)
    h.shots(page, "test-cases")
    table.get_by_role("button", name="add and div properties").click()
    editor = page.get_by_role("dialog", name="Edit test case")
    expect(editor.get_by_label("Test code")).to_contain_text("def test_add_is_commutative")
    # Syntax highlighting: keywords are wrapped in styled spans, not left as plain text.
    expect(editor.locator(".cm-line span", has_text="def").first).to_be_visible()
    h.shots(page, "test-case-editor")
    editor.get_by_role("button", name="Cancel").click()
    expect(editor).to_be_hidden()

    page.get_by_role("button", name="AI Generate Tests").click()
    generate = page.get_by_role("dialog", name="AI Generate Tests")
    generate.get_by_role("radio", name="A function").check()
    generate.get_by_role("combobox", name="Function").fill("calc:add")
    expect(generate.get_by_role("button", name="Generate")).to_be_enabled()
    h.shots(page, "ai-generate")
    generate.get_by_role("button", name="Cancel").click()
    expect(generate).to_be_hidden()

    h.nav(page, "Test Execution")
    expect(page.get_by_role("list", name="Finished plans").get_by_role("link")).to_have_count(2)
    expect(page.get_by_role("status", name="Plan status")).to_have_text("failed")
    h.shots(page, "execution")
    page.get_by_role("link", name="Plan nightly").click()
    runs = page.get_by_role("table", name="Test runs")
    broken = runs.get_by_role("button", name="test_broken")
    broken.click()
    expect(runs.get_by_role("heading", name="Failure")).to_be_visible()
    expect(runs.locator("pre.failure")).to_contain_text("assert")
    h.shots(page, "execution-detail")

    h.nav(page, "Insights")
    expect(page.get_by_text("Pass rate over time")).to_be_visible()
    h.shots(page, "insights")

    h.nav(page, "Orchestrator")
    expect(page.get_by_role("status", name="Orchestrator status")).to_be_visible()
    page.get_by_role("button", name="Poll").click()
    expect(page.get_by_role("status", name="Poll result")).to_contain_text("Poll done")
    h.shots(page, "orchestrator")

    h.nav(page, "Settings")
    page.get_by_label("Token name").fill("ci")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("status", name="New token")).to_contain_text("Copy it now")
    page.get_by_role("button", name="Done").click()  # keep the secret out of the picture
    expect(page.get_by_role("button", name="Revoke ci")).to_be_visible()
    h.shots(page, "settings")

    h.nav(page, "Users")
    expect(page.get_by_role("table", name="Users").get_by_text("vera")).to_be_visible()
    h.shots(page, "users")

    # An expired session sends the user back to the login page, with a message.
    page.evaluate("""() => {
        const s = JSON.parse(localStorage.getItem('assay.session'));
        localStorage.setItem('assay.session', JSON.stringify({...s, expiresAt: Date.now() - 1000}));
    }""")
    page.reload()
    expect(page).to_have_url(f"{server.url}/login")
    expect(page.get_by_role("alert")).to_contain_text("Your session expired")
    h.shots(page, "login-expired")
