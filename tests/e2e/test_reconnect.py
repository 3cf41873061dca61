"""Scenario 3: the server dies mid-plan and comes back; the open page catches up by itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.e2e import helpers as h
from tests.e2e.conftest import ServerFactory
from tests.gates import Gate

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def test_page_survives_a_server_restart_mid_plan_and_catches_up(
    page: Page, start_server: ServerFactory, project_dir: Path
) -> None:
    server = start_server()
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    # The first step passes at once; the others hold until released, so the server is
    # certainly killed with work in flight, however slow the page is to show progress.
    gate = Gate(Path(server.env["ASSAY_DATA_DIR"]))
    ids = [h.add_test(api, project["id"], f"step {i}",
                      h.sleeping_test("step_0", 0) if i == 0 else gate.code(f"test_step_{i}"))
           for i in range(4)]
    plan = h.queue_plan(api, project["id"], ids, name="long haul")

    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/execution/{plan['id']}")
    h.mark_no_reload(page)
    status = page.get_by_role("status", name="Plan status")
    live = page.get_by_role("status", name="Live connection")
    progress = page.get_by_role("progressbar", name="Plan progress")
    expect(status).to_have_text("running", timeout=60_000)
    expect(live).to_have_text("Live")
    # Kill it once the page has seen real progress, with work still in flight.
    expect(progress).to_have_attribute("aria-valuenow", "1", timeout=30_000)
    gate.wait_started()
    h.record_texts(page, "Live connection")
    server.kill9()

    notice = page.get_by_role("alert", name="Live connection notice")
    expect(notice).to_contain_text("Live updates disconnected — reconnecting…", timeout=15_000)
    expect(live).to_have_text(re.compile(r"^(Offline|Connecting)$"))
    expect(status).to_be_visible()  # the last known state stays on screen
    h.shots(page, "execution-reconnecting")

    # A new server on the same port, data dir and database; the page was never reloaded.
    again = start_server(port=server.port)
    # While it was down the page kept trying (with back-off, unit-tested in Vitest).
    tries = h.recorded_texts(page, "Live connection")
    assert tries[:2] == ["Live", "Offline"] and "Connecting" in tries, tries
    # Its next try may be up to 30 s away: a browser back online retries at once.
    page.context.set_offline(True)
    page.context.set_offline(False)
    expect(notice).to_contain_text(
        re.compile(r"Live updates reconnected — caught up(, nothing was missed| on \d+ missed)"),
        timeout=45_000)
    expect(live).to_have_text("Live")
    with gate.releasing():  # the steps run again after the kill, and may now finish
        expect(status).to_have_text("passed", timeout=90_000)
    expect(progress).to_have_attribute("aria-valuetext", "4 of 4 finished")

    api = again.client(again.login("admin", ADMIN_PASSWORD))
    final = h.wait_plan(api, plan["id"], {"passed", "failed", "error", "cancelled"}, timeout=10)
    assert final["status"] == "passed", final
    assert final["attempts"] >= 2, "the plan was not interrupted by the kill"
    rows = page.get_by_role("table", name="Test runs").locator("tbody tr.run")
    expect(rows).to_have_count(len(final["runs"]))
    shown = {row.locator("td").first.inner_text().strip():
             row.locator("[data-status]").get_attribute("data-status") for row in rows.all()}
    assert shown == {r["name"]: r["status"] for r in final["runs"]}, shown
    h.assert_not_reloaded(page)
