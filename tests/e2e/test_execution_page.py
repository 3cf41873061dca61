"""The Execution page a person watches: live clocks, a layout that fits, counts that say
what they count, and a plans list whose filters live in the URL.

Real server, real browser, real sandboxed pytest. Waits are for the states meant (a
gate released when the page has shown what it must, a status the page shows); what
the page showed over time is recorded in the page itself, by a MutationObserver
timestamping each change, and judged after the fact.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.e2e import helpers as h
from tests.gates import Gate
from tests.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

SLEEP_S = 5

RECORD = """() => {
    const seen = window.__assayClock = [];
    const text = (sel) => {
        const el = document.querySelector(sel);
        return el ? el.textContent.trim() : null;
    };
    const note = () => {
        const row = {
            t: performance.now(),
            plan: text('[aria-label="Plan status"]'),
            run: document.querySelector('table[aria-label="Test runs"] tr.run [data-status]')
                ?.dataset.status ?? null,
            elapsed: text('[aria-label="Elapsed time"]'),
            left: text('[aria-label="Estimated time left"]'),
        };
        const last = seen[seen.length - 1];
        const keys = ["plan", "run", "elapsed", "left"];
        if (!last || keys.some((k) => last[k] !== row[k])) seen.push(row);
    };
    note();
    new MutationObserver(note).observe(document.body,
        {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def seconds_in(text: str | None) -> float | None:
    """`elapsed 7 s` → 7; `about 1m 05s left` → 65; None when the text has no time."""
    if not text:
        return None
    m = re.search(r"(?:(\d+)m (\d+)s|(\d+(?:\.\d+)?) s)", text)
    if not m:
        return None
    if m.group(3) is not None:
        return float(m.group(3))
    return int(m.group(1)) * 60 + int(m.group(2))


def hold_the_slot(api: Any, project_id: str, data_dir: Path,
                  name: str = "blocker") -> tuple[Gate, str]:
    """A gated plan on the only worker slot: what is queued next waits until released."""
    gate = Gate(data_dir)
    blocker = h.queue_plan(api, project_id, [h.add_test(api, project_id, name,
                                                        gate.code("test_blocker"))], name=name)
    gate.wait_started()
    return gate, str(blocker["id"])


def test_elapsed_ticks_and_time_left_comes_from_past_runs(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    sleepy = h.add_test(api, project["id"], "sleepy", h.sleeping_test("sleepy", SLEEP_S))
    first = h.queue_plan(api, project["id"], [sleepy], name="sleepy")
    assert h.wait_plan(api, first["id"], {"passed", "failed", "error"})["status"] == "passed"

    gate, blocker = hold_the_slot(api, project["id"], Path(server.env["ASSAY_DATA_DIR"]))
    second = h.queue_plan(api, project["id"], [sleepy], name="sleepy again")
    h.login(page, server.url, "admin", ADMIN_PASSWORD)

    # The blocker's test has never run before: no estimate, said so.
    page.goto(f"{server.url}/execution/{blocker}")
    expect(page.get_by_role("status", name="Plan status")).to_have_text("running")
    expect(page.get_by_label("Estimated time left")).to_have_text("no estimate yet")

    page.goto(f"{server.url}/execution/{second['id']}")
    status = page.get_by_role("status", name="Plan status")
    expect(status).to_have_text("queued")
    # Queued, it is already estimated from the first run: 5 s of it.
    expect(page.get_by_label("Estimated time left")).to_contain_text(
        "from 1 past run of this test")
    page.evaluate(RECORD)
    assert gate.release() == 1
    expect(status).to_have_text("passed", timeout=120_000)
    seen: list[dict[str, Any]] = page.evaluate("window.__assayClock")

    # While the test slept, the elapsed time shown advanced by at least 3 s.
    sleeping = [r for r in seen if r["plan"] == "running" and r["run"] == "running"]
    elapsed = [s for s in (seconds_in(r["elapsed"]) for r in sleeping) if s is not None]
    assert elapsed and max(elapsed) - min(elapsed) >= 3, sleeping

    # The time left shown when the test started was within 50 % of the time really left.
    finished_at = next(r["t"] for r in seen if r["plan"] == "passed")
    shown = next(r for r in sleeping if seconds_in(r["left"]) is not None)
    real = (finished_at - shown["t"]) / 1000
    guess = seconds_in(shown["left"])
    assert guess is not None and abs(guess - real) <= 0.5 * real, (shown, real)
    assert "from 1 past run of this test" in shown["left"]
    # And it counted down as the test ran, never showing "0 ms" left.
    lefts = [s for s in (seconds_in(r["left"]) for r in sleeping) if s is not None]
    assert len(set(lefts)) >= 2 and lefts[-1] < lefts[0], sleeping


LONG = "test_" + "a_rather_long_name_for_a_test_" * 7
LONG = LONG[:200]


def test_the_page_fits_at_1280_with_a_200_character_test_name(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    assert len(LONG) == 200
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    gate = Gate(Path(server.env["ASSAY_DATA_DIR"]))
    case = h.add_test(api, project["id"], LONG, gate.code(LONG))
    plan = h.queue_plan(api, project["id"], [case], name="long " + "name " * 30)
    gate.wait_started()

    page.set_viewport_size({"width": 1280, "height": 800})
    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/execution/{plan['id']}")
    runs = page.get_by_role("table", name="Test runs")
    expect(runs.get_by_role("row").filter(has_text=LONG[:40]).locator("[data-status]")
           ).to_have_attribute("data-status", "running")
    cancel = page.get_by_role("button", name="Cancel")
    for size in h.SIZES.values():
        page.set_viewport_size(size)
        assert h.no_sideways_scroll(page), f"the page scrolls sideways at {size}"
        expect(cancel).to_be_in_viewport()
        expect(page.get_by_role("status", name="Plan status")).to_be_in_viewport()
        # The whole name is there on hover, wrapped in the cell.
        expect(runs.locator(f'td[title="{LONG}"]')).to_be_visible()
    h.shots(page, "execution-long-name")

    # The actions stay in view however far the runs are scrolled.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.mouse.wheel(0, 2000)
    expect(cancel).to_be_in_viewport()
    cancel.click()
    expect(page.get_by_role("status", name="Plan status")).to_have_text("cancelled")
    assert h.no_sideways_scroll(page) and page.evaluate("window.scrollX") == 0
    gate.release()


NEEDS_DATABASE = '''import pytest


@pytest.fixture
def database():
    raise RuntimeError("the database did not start")


def test_uses_database(database):
    assert database
'''


def test_one_error_and_one_failure_show_apart_in_the_list_and_the_header(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    error = h.add_test(api, project["id"], "needs a database", NEEDS_DATABASE)
    failure = h.add_test(api, project["id"], "arithmetic", "def test_arithmetic():\n"
                         "    assert 1 + 1 == 3\n")
    plan = h.queue_plan(api, project["id"], [error, failure], name="one of each")
    final = h.wait_plan(api, plan["id"], {"passed", "failed", "error"})
    assert final["counts"]["error"] == 1 and final["counts"]["failed"] == 1, final

    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/execution/{plan['id']}")
    header = page.get_by_label("Plan outcomes")
    expect(header.locator('[data-outcome="failed"]')).to_have_text("1 failed")
    expect(header.locator('[data-outcome="error"]')).to_have_text("1 error")
    row = page.get_by_label("Outcomes of one of each")
    expect(row.locator('[data-outcome="failed"]')).to_have_text("1 failed")
    expect(row.locator('[data-outcome="error"]')).to_have_text("1 error")
    expect(page.get_by_role("button", name="Rerun failed")).to_be_visible()
    h.shots(page, "execution-error-and-failure")

    # A plan where everything passed offers no "Rerun failed".
    green = h.queue_plan(api, project["id"], [h.add_test(
        api, project["id"], "all good", "def test_ok():\n    assert True\n")], name="green")
    assert h.wait_plan(api, green["id"], {"passed", "failed", "error"})["status"] == "passed"
    page.get_by_role("link", name="Plan green").click()
    expect(page.get_by_role("status", name="Plan status")).to_have_text("passed")
    expect(page.get_by_role("button", name="Rerun all")).to_be_visible()
    expect(page.get_by_role("button", name="Rerun failed")).to_have_count(0)


def test_plan_filters_live_in_the_url_and_survive_a_reload(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    case = h.add_test(api, project["id"], "quick", "def test_quick():\n    assert True\n",
                      tags=["smoke"])
    other = h.add_test(api, project["id"], "other", "def test_other():\n    assert True\n")
    plans = {}
    for name, headers, ids in [("nightly smoke", {"X-Assay-Client": "cli"}, [case]),
                               ("nightly full", {}, [case, other]),
                               ("adhoc", {"X-Assay-Client": "cli"}, [other])]:
        r = api.post("/execution/plans", headers=headers,
                     json={"project_id": project["id"], "test_case_ids": ids, "name": name})
        assert r.status_code == 201, r.text
        plans[name] = r.json()
    for p in plans.values():
        h.wait_plan(api, p["id"], {"passed", "failed", "error"})

    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    h.nav(page, "Test Execution")
    finished = page.get_by_role("list", name="Finished plans")
    expect(finished.get_by_role("link")).to_have_count(3)
    page.get_by_role("searchbox", name="Search plans").fill("nightly")
    expect(finished.get_by_role("link")).to_have_count(2)
    page.get_by_role("combobox", name="Trigger").select_option("cli")
    expect(finished.get_by_role("link")).to_have_count(1)
    finished.get_by_role("link", name="Plan nightly smoke").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("nightly smoke")
    expect(page).to_have_url(re.compile(
        rf"/execution/{plans['nightly smoke']['id']}\?.*q=nightly"))
    assert "trigger=cli" in page.url
    h.shots(page, "execution-filtered")

    page.reload()
    expect(page.get_by_role("searchbox", name="Search plans")).to_have_value("nightly")
    expect(page.get_by_role("combobox", name="Trigger")).to_have_value("cli")
    expect(finished.get_by_role("link")).to_have_count(1)
    expect(finished.get_by_role("link", name="Plan nightly smoke")).to_have_attribute(
        "aria-current", "true")
    expect(page.get_by_role("heading", level=2)).to_have_text("nightly smoke")

    # Filters by tag; clearing them shows every plan again.
    page.get_by_role("combobox", name="Trigger").select_option("")
    page.get_by_role("searchbox", name="Search plans").fill("")
    page.get_by_role("searchbox", name="Tag").fill("smoke")
    expect(finished.get_by_role("link")).to_have_count(2)
    page.get_by_role("button", name="Clear filters").click()
    expect(finished.get_by_role("link")).to_have_count(3)
    assert "tag=" not in page.url and "q=" not in page.url


def test_a_plan_of_105_shows_100_runs_then_the_rest_on_request(
    page: Page, server: ServerProcess, project_dir: Path
) -> None:
    api = server.client(server.login("admin", ADMIN_PASSWORD))
    project = h.make_project(api, project_dir, name="calc")
    gate, _ = hold_the_slot(api, project["id"], Path(server.env["ASSAY_DATA_DIR"]))
    ids = [h.add_test(api, project["id"], f"t{i:03}", f"def test_t{i:03}():\n    assert True\n")
           for i in range(105)]
    plan = h.queue_plan(api, project["id"], ids, name="105 tests")  # queued behind the gate

    h.login(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/execution/{plan['id']}")
    runs = page.get_by_role("table", name="Test runs").locator("tbody tr.run")
    expect(runs).to_have_count(100)
    page.get_by_role("button", name="Show more runs (100 of 105 shown)").click()
    expect(runs).to_have_count(105)
    expect(page.get_by_role("button", name=re.compile("Show more runs"))).to_have_count(0)

    # Live updates reach the rows shown on request too.
    gate.release()
    expect(page.get_by_role("status", name="Plan status")).to_have_text("passed", timeout=120_000)
    expect(runs.nth(104).locator("[data-status]")).to_have_attribute("data-status", "passed")
    expect(runs).to_have_count(105)
