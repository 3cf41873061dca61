"""Scenario 2: generate tests from a function with the built-in engine; watch them pass."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.e2e import helpers as h
from tests.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def test_generate_from_a_function_then_watch_the_tests_pass(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    paths = httpx.get(f"{server.url}/openapi.json", timeout=30).json()["paths"]
    missing = [p for p in ("/api/v1/tests/generate", "/api/v1/generations/{generation_id}",
                           "/api/v1/projects/{project_id}/symbols") if p not in paths]
    if missing:
        pytest.fail(f"the generation API is not wired into the server: {missing} missing",
                    pytrace=False)
    project = h.make_project(api, project_dir, name="calc")

    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    h.nav(page, "Test Cases")
    page.get_by_role("button", name="AI Generate Tests").click()
    dialog = page.get_by_role("dialog", name="AI Generate Tests")
    dialog.get_by_role("radio", name="A function").check()
    function = dialog.get_by_role("combobox", name="Function")
    function.fill("calc:")
    # The suggestions come from the project's own symbols.
    options = dialog.locator("datalist#symbol-options option")
    expect(options.and_(page.locator('[value="calc:add"]'))).to_have_count(1)
    expect(options.and_(page.locator('[value="calc:div"]'))).to_have_count(1)
    function.fill("calc:add")
    dialog.get_by_label("Engine").select_option("builtin")
    dialog.get_by_label("Max tests").fill("5")
    dialog.get_by_label("Run accepted tests at once").check()
    with page.expect_response("**/api/v1/tests/generate") as started:
        dialog.get_by_role("button", name="Generate").click()
    generation_id = started.value.json()["generation_id"]

    status = dialog.get_by_role("status", name="Generation status")
    expect(status).to_have_text("finished", timeout=120_000)

    # The progress log names each candidate with its verdict, as the server reports
    # them (its `generation.candidate` events nest both under `candidate`), in order.
    generation = api.get(f"/generations/{generation_id}").json()
    assert generation["status"] == "finished", generation
    reported = [f"{c['name']}: {c['verdict']}" for c in generation["candidates"]]
    assert reported, f"the generation produced no candidate: {generation}"
    log = dialog.get_by_role("list", name="Generation progress")
    expect(log.locator('li[data-event="generation.candidate"]')).to_have_text(reported)
    expect(log).not_to_contain_text("candidate: checked")
    accepted = dialog.locator("article.candidate-accepted")
    expect(accepted.first).to_be_visible()
    n = accepted.count()
    assert n >= 1
    expect(accepted.first).to_contain_text("calc:add")
    h.shot(page, "ai-generate-result")

    # The accepted tests run in a plan: open it and watch it pass, live.
    dialog.get_by_role("link", name="Open the plan running them").click()
    expect(dialog).to_be_hidden()
    plan_status = page.get_by_role("status", name="Plan status")
    expect(plan_status).to_have_text("passed", timeout=120_000)
    runs = page.get_by_role("table", name="Test runs").locator("tbody tr.run")
    expect(runs).to_have_count(n)
    expect(runs.locator('[data-status="passed"]')).to_have_count(n)

    # And they are test cases of origin "ai" now.
    h.nav(page, "Test Cases")
    page.get_by_label("Origin filter").select_option("ai")
    table = page.get_by_role("table", name="Test cases")
    expect(table.locator("tbody tr")).to_have_count(n)
    stored = api.get("/tests", params={"project_id": project["id"], "origin": "ai"}).json()
    assert stored["total"] == n
