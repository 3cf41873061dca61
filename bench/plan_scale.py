"""Plans of N tests: creating one, and reading its detail and its runs a page at a time.

A real `assay serve` (SQLite by default, or the local PostgreSQL with `--db postgresql`)
with N test cases in one project, written straight into its database (this measures
plans, not the suite import; bench/large_suite.py measures that). Each figure is printed
beside a baseline measured in the same run, on the same server:

- `POST /execution/plans` of every case (a selection, `{"selection": {}}`), and of the
  most a request may name by id (10,000), beside the POST of a one-test plan;
- `GET /execution/plans/{id}` (the detail: the plan and its first 100 runs), beside the
  detail of the one-test plan and a page of 50 test cases (`GET /tests`);
- `GET /execution/plans/{id}/runs`: every page of 200 walked by cursor, pages at random
  offsets, and pages filtered by status.

The big plan is cancelled as soon as it is created (one UPDATE of its runs), so the
reads are measured on a quiet server rather than beside 100,000 tests running.

Usage:
    .venv/bin/python bench/plan_scale.py [--cases 100000] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text

from assay.db.base import new_id, utcnow
from assay.db.models import TestCase
from real_projects import (  # same directory
    FINAL,
    Server,
    StepFailed,
)

PG_ADMIN_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"


def seed(database_url: str, project_id: str, n: int) -> list[str]:
    """`n` active test cases of the project, as a suite import would leave them."""
    now = utcnow()
    rows = [{
        "id": new_id(), "project_id": project_id, "title": f"test_case[{i}]",
        "description": "", "reference": f"tests/test_big.py::test_case[{i}]",
        "priority": "medium", "priority_rank": 2, "status": "active", "origin": "imported",
        "created_at": now + timedelta(microseconds=i), "updated_at": now, "version": 1,
    } for i in range(n)]
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(insert(TestCase), rows[start:start + 5000])
    engine.dispose()
    return [r["id"] for r in rows]


def timed(call: Callable[[], httpx.Response], expect: int = 200) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    r = call()
    seconds = time.perf_counter() - started
    if r.status_code != expect:
        raise StepFailed(f"HTTP {r.status_code}: {r.text[:500]}")
    return seconds, r


def spread(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.95))], 1),
            "max_ms": round(ms[-1], 1)}


def repeat(api: httpx.Client, path: str, times: int,
           params: Callable[[int], dict[str, Any]] | None = None) -> tuple[dict[str, float], int]:
    took, size = [], 0
    for i in range(times):
        seconds, r = timed(lambda i=i: api.get(path, params=params(i) if params else None))
        took.append(seconds)
        size = len(r.content)
    return spread(took), size


def wait_quiet(api: httpx.Client, plan_id: str, timeout: float = 300) -> float:
    """Until the plan is final and the orchestrator runs nothing; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        page = api.get("/execution/plans", params={"limit": 20}).json()
        final = any(p["id"] == plan_id and p["status"] in FINAL for p in page["items"])
        metrics = api.get("/execution/metrics").json()
        if final and not metrics["workers_busy"] and not metrics["running_plans"]:
            return time.monotonic() - started
        time.sleep(0.2)
    raise StepFailed(f"plan {plan_id} did not reach a final status in {timeout:.0f}s")


def measure(api: httpx.Client, database_url: str, work: Path, n: int) -> dict[str, Any]:
    tree = work / "project"  # an empty tree: the plan is cancelled before it runs
    (tree / "tests").mkdir(parents=True)
    r = api.post("/projects", json={"name": "plan-scale",
                                    "source": {"type": "path", "path": str(tree)}})
    r.raise_for_status()
    project_id = r.json()["id"]
    started = time.perf_counter()
    ids = seed(database_url, project_id, n)
    seed_s = time.perf_counter() - started
    out: dict[str, Any] = {"cases": n, "seed_s": round(seed_s, 2)}

    # Baseline: a one-test plan (the fixed cost of a POST), cancelled at once.
    one = []
    for i in range(5):
        seconds, r = timed(lambda i=i: api.post("/execution/plans", json={
            "project_id": project_id, "test_case_ids": [ids[i]]}), 201)
        one.append(seconds)
        api.post(f"/execution/plans/{r.json()['id']}/cancel")
    small_id = r.json()["id"]
    out["post_1_test_ms"] = spread(one)

    # The most a request may name: 10,000 ids.
    k = min(n, 10_000)
    seconds, r = timed(lambda: api.post("/execution/plans", json={
        "project_id": project_id, "test_case_ids": ids[:k]}), 201)
    api.post(f"/execution/plans/{r.json()['id']}/cancel")
    out[f"post_{k}_ids_s"] = round(seconds, 3)

    # Every case, by selection.
    seconds, r = timed(lambda: api.post("/execution/plans", json={
        "project_id": project_id, "selection": {}}), 201)
    plan = r.json()
    if plan["total"] != n:
        raise StepFailed(f"the plan holds {plan['total']} runs, not {n}")
    out[f"post_{n}_selection_s"] = round(seconds, 3)
    cancel_s, _ = timed(lambda: api.post(f"/execution/plans/{plan['id']}/cancel"))
    out[f"cancel_{n}_s"] = round(cancel_s, 3)
    out["quiet_after_cancel_s"] = round(wait_quiet(api, plan["id"]), 2)
    out.update(reads(api, project_id, small_id, f"/execution/plans/{plan['id']}", n))
    return out


def reads(api: httpx.Client, project_id: str, small_id: str, big: str,
          n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}

    # Reads: baselines first, then the big plan's.
    out["baseline_tests_page_50"], _ = repeat(
        api, "/tests", 40, lambda i: {"project_id": project_id, "limit": 50})
    out["baseline_detail_1_test"], _ = repeat(api, f"/execution/plans/{small_id}", 40)
    out["detail_first_page"], size = repeat(api, big, 40)
    out["detail_bytes"] = size

    walk, pages = [], 0
    cursor: str | None = None
    seen = 0
    walk_started = time.perf_counter()
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        seconds, r = timed(lambda params=params: api.get(f"{big}/runs", params=params))
        walk.append(seconds)
        page = r.json()
        seen += len(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    if seen != n:
        raise StepFailed(f"walking the pages read {seen} runs, not {n}")
    out["runs_walk_by_cursor"] = {**spread(walk), "pages": pages,
                                  "total_s": round(time.perf_counter() - walk_started, 2)}
    rng = random.Random(12)
    out["runs_page_random_offset"], _ = repeat(
        api, f"{big}/runs", 40, lambda i: {"limit": 200, "offset": rng.randrange(n)})
    out["runs_page_status_cancelled"], _ = repeat(
        api, f"{big}/runs", 40,
        lambda i: {"limit": 200, "offset": rng.randrange(n), "status": "cancelled"})
    out["runs_page_status_failed_error"], _ = repeat(
        api, f"{big}/runs", 40, lambda i: {"limit": 200, "status": ["failed", "error"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="assay-plan-scale-"))
    work.chmod(0o755)
    pg_name = None
    if args.db == "postgresql":
        pg_name = f"assay_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_name}"
    else:
        database_url = f"sqlite:///{work / 'assay-data' / 'assay.db'}"
    server = Server(work / "assay-data", database_url, timeout=600)
    try:
        server.start()
        result = {"db": args.db, **measure(server.api, database_url, work, args.cases)}
        if pg_name:
            # What autovacuum does within a minute of a bulk write: the same reads after.
            engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text("VACUUM ANALYZE test_runs"))
            engine.dispose()
            plans = server.api.get("/execution/plans", params={"limit": 10}).json()["items"]
            big = max(plans, key=lambda p: p["total"])
            small = min(plans, key=lambda p: p["total"])
            result["after_vacuum_analyze"] = reads(
                server.api, big["project_id"], small["id"], f"/execution/plans/{big['id']}",
                args.cases)
    finally:
        server.stop()
        if pg_name:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    n = args.cases
    print(f"{args.db}, {n} tests: POST {result[f'post_{n}_selection_s']:.2f}s "
          f"(one-test plan p50 {result['post_1_test_ms']['p50_ms']:.0f} ms); "
          f"detail p50/p95 {result['detail_first_page']['p50_ms']}/"
          f"{result['detail_first_page']['p95_ms']} ms, {result['detail_bytes']} bytes "
          f"(one-test plan {result['baseline_detail_1_test']['p50_ms']}/"
          f"{result['baseline_detail_1_test']['p95_ms']} ms); "
          f"/runs page p50/p95 {result['runs_walk_by_cursor']['p50_ms']}/"
          f"{result['runs_walk_by_cursor']['p95_ms']} ms by cursor, "
          f"{result['runs_page_random_offset']['p50_ms']}/"
          f"{result['runs_page_random_offset']['p95_ms']} ms at random offsets")


if __name__ == "__main__":
    main()
