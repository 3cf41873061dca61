"""Dashboard benchmark (issue 5): Test Cases with 10,000 cases, and the bundle size.

Starts a real `assay serve` (SQLite) with the built dashboard, inserts 10,000 test
cases straight into its database with SQLAlchemy (one executemany, not 10,000 API
calls), and drives Debian's Chromium through Playwright:

1. client-side navigation: from a freshly loaded Projects page (empty query cache),
   click "Test Cases" -> the first row of the table is in the DOM, measured in the
   page (performance.now() from the click to the animation frame that sees the row);
2. cold load: `page.goto("/tests")` -> first row visible (HTML, scripts, session,
   projects and the first page of test cases), measured around Playwright;
3. the API alone: GET /tests (first page of 50, total counted) with 10,000 rows.

Then the production bundle: each `src/assay/static/dashboard/assets/*.js`, raw and
gzip (level 9), the entry chunk apart from the lazy ones.

Prints the figures (median of `--runs`) and writes JSON under bench/results/.
Needs the dashboard built (`make dashboard`) and Chromium (`apt-get install chromium`).
Usage:
    .venv/bin/python bench/dashboard_render.py [--cases 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))  # for tests.servers

from tests.servers import ServerProcess  # noqa: E402

from assay.api.app import STATIC  # noqa: E402
from assay.db.migrate import upgrade  # noqa: E402
from assay.db.models.test_case import TestCase, TestCaseTag  # noqa: E402

PASSWORD = "bench-admin-password"
CHROMIUM = os.environ.get("ASSAY_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
PRIORITIES = [("critical", 0), ("high", 1), ("medium", 2), ("low", 3)]
STATUSES = ["active", "active", "active", "draft", "quarantined", "archived"]
ORIGINS = ["manual", "manual", "ai", "imported"]
TAGS = ["smoke", "api", "slow", "regression", "ui", "db"]

# Click the nav link, then wait frame by frame for the first row: all in the page.
NAV_TO_FIRST_ROW = """async () => {
    const link = [...document.querySelectorAll('nav[aria-label="Main"] a')]
        .find((a) => a.textContent.trim() === 'Test Cases');
    const row = () => document.querySelector('table[aria-label="Test cases"] tbody tr');
    const t0 = performance.now();
    link.click();
    while (!row()) await new Promise((r) => requestAnimationFrame(r));
    return performance.now() - t0;
}"""


def insert_cases(url: str, project_id: str, n: int) -> float:
    rng = random.Random(5)
    now = datetime.now(UTC)
    cases, tags = [], []
    for i in range(n):
        priority, rank = rng.choice(PRIORITIES)
        created = now - timedelta(minutes=n - i)
        cid = f"{i:032x}"
        cases.append({
            "id": cid, "project_id": project_id, "title": f"checks case {i:05d} of the parser",
            "description": "", "code": f"def test_case_{i}():\n    assert {i} == {i}\n",
            "reference": None, "priority": priority, "priority_rank": rank,
            "status": rng.choice(STATUSES), "origin": rng.choice(ORIGINS), "target": None,
            "generation_id": None, "created_by": None, "created_at": created,
            "updated_at": created, "version": 1,
        })
        tags += [{"test_case_id": cid, "tag": t} for t in rng.sample(TAGS, rng.randint(0, 2))]
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(TestCase.__table__), cases)
        if tags:
            conn.execute(insert(TestCaseTag.__table__), tags)
    engine.dispose()
    return time.perf_counter() - started


def bundle() -> dict[str, Any]:
    files = sorted((STATIC / "assets").glob("*.js"))
    if not files:
        sys.exit("the dashboard is not built: run `make dashboard` first")
    html = (STATIC / "index.html").read_text()
    out: dict[str, Any] = {"files": {}, "entry_gzip": 0, "lazy_gzip": 0}
    for f in files:
        data = f.read_bytes()
        gz = len(gzip.compress(data, compresslevel=9))
        out["files"][f.name] = {"raw": len(data), "gzip": gz}
        out["entry_gzip" if f.name in html else "lazy_gzip"] += gz
    out["total_raw"] = sum(v["raw"] for v in out["files"].values())
    out["total_gzip"] = sum(v["gzip"] for v in out["files"].values())
    return out


def measure(url: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import expect, sync_playwright

    nav, cold = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.goto(f"{url}/login")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            first_row = page.get_by_role("table", name="Test cases").locator("tbody tr").first
            expect(first_row).to_be_visible(timeout=60_000)  # warm: server and caches
            for _ in range(runs):
                page.goto(f"{url}/projects")  # a fresh page: nothing cached
                expect(page.get_by_role("heading", name="Projects")).to_be_visible()
                nav.append(float(page.evaluate(NAV_TO_FIRST_ROW)))
                page.goto(f"{url}/projects")
                expect(page.get_by_role("heading", name="Projects")).to_be_visible()
                started = time.perf_counter()
                page.goto(f"{url}/tests")
                expect(first_row).to_be_visible()
                cold.append((time.perf_counter() - started) * 1000)
        finally:
            browser.close()
    return {"navigation_ms": nav, "cold_load_ms": cold}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not (STATIC / "index.html").is_file():
        sys.exit("the dashboard is not built: run `make dashboard` first")
    if not Path(CHROMIUM).is_file():
        sys.exit(f"Chromium not found at {CHROMIUM}: apt-get install chromium "
                 "(or set ASSAY_E2E_CHROMIUM)")

    root = Path(tempfile.mkdtemp(prefix="assay-bench-dashboard-"))
    root.chmod(0o755)
    project_dir = root / "calc"
    (project_dir / "calc").mkdir(parents=True)
    (project_dir / "calc" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    db_url = f"sqlite:///{root / 'assay.db'}"
    upgrade(db_url)
    server = ServerProcess(root, db_url, root / "envs", PASSWORD, ASSAY_LOG_LEVEL="WARNING")
    try:
        server.start()
        api = server.client(server.login("admin", PASSWORD))
        r = api.post("/projects", json={"name": "calc",
                                        "source": {"type": "path", "path": str(project_dir)}})
        r.raise_for_status()
        project_id = r.json()["id"]
        insert_s = insert_cases(db_url, project_id, args.cases)
        api_ms = []
        for _ in range(args.runs):
            started = time.perf_counter()
            page = api.get("/tests", params={"project_id": project_id, "limit": 50})
            api_ms.append((time.perf_counter() - started) * 1000)
            if page.status_code != 200 or page.json()["total"] != args.cases:
                sys.exit(f"GET /tests answered {page.status_code}: {page.text[:300]}\n"
                         f"{server.log()}")
        timings = measure(server.url, args.runs)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)

    size = bundle()
    result = {
        "cases": args.cases, "runs": args.runs, "insert_s": round(insert_s, 2),
        "api_first_page_ms": round(statistics.median(api_ms), 1),
        "navigation_to_first_row_ms": round(statistics.median(timings["navigation_ms"]), 1),
        "cold_load_to_first_row_ms": round(statistics.median(timings["cold_load_ms"]), 1),
        "samples": {k: [round(v, 1) for v in vs] for k, vs in timings.items()},
        "bundle": size, "machine_cpus": os.cpu_count(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"Test Cases with {args.cases:,} cases (median of {args.runs}):")
    print(f"  inserted in                          {insert_s:8.2f} s (SQLAlchemy executemany)")
    print(f"  API GET /tests first page            {result['api_first_page_ms']:8.1f} ms")
    print(f"  click 'Test Cases' -> first row      {result['navigation_to_first_row_ms']:8.1f} ms")
    print(f"  cold load /tests -> first row        {result['cold_load_to_first_row_ms']:8.1f} ms")
    print("Production bundle (assets/*.js):")
    for name, v in size["files"].items():
        print(f"  {name:32} {v['raw'] / 1024:8.1f} KiB raw {v['gzip'] / 1024:7.1f} KiB gzip")
    print(f"  total                            {size['total_raw'] / 1024:8.1f} KiB raw "
          f"{size['total_gzip'] / 1024:7.1f} KiB gzip "
          f"(entry {size['entry_gzip'] / 1024:.1f}, lazy {size['lazy_gzip'] / 1024:.1f})")
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / "dashboard_render.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
