"""Text search over test cases (issue 12): `GET /tests?q=` by index vs the LIKE scan.

For each database (SQLite, and PostgreSQL unless --no-postgres): an app at head, one
project of `--cases` test cases bulk-inserted through the app's DB layer (titles,
descriptions, code and references like a real suite's), then p50/p95 of
`GET /api/v1/tests?project_id=...&q=...` for a few queries, measured twice in this run:

1. baseline: migration 0005 downgraded away (no FTS table, no trigram or title index)
   and the route's predicate forced to the plain `lower(col) LIKE '%q%'` OR over the
   four columns: what search was before;
2. indexed: upgraded back to head (the FTS index is rebuilt from the rows, timed), the
   route as shipped.

Requests go through FastAPI's TestClient (in process: routing, auth, the two queries
of a page, serialization). Prints a table and writes JSON under bench/results/.

Usage:
    .venv/bin/python bench/search.py [--cases 100000] [--repeat 40] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text

import assay.api.routes.tests as tests_route
from assay.api.app import create_app
from assay.config import Settings
from assay.db import search
from assay.db.base import new_id
from assay.db.migrate import downgrade, upgrade
from assay.db.models import TestCase

ROOT = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get(
    "ASSAY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ADMIN_PASSWORD = "bench-admin-password"

AREAS = ["checkout", "payments", "refunds", "login", "search", "inventory", "shipping",
         "invoices", "profile", "cart", "coupons", "reports", "webhooks", "exports",
         "sessions", "billing", "catalog", "orders", "returns", "notifications"]
ACTIONS = ["applies", "rejects", "rounds", "retries", "validates", "caches", "sorts",
           "merges", "splits", "expires", "renders", "parses", "limits", "audits"]
THINGS = ["discount", "partial amount", "currency", "timeout", "empty basket", "unicode name",
          "duplicate request", "expired token", "large payload", "negative total",
          "missing field", "tax rate", "leap day", "rate limit", "stale cache"]

# (label, q): realistic searches, from common to absent; the last two are below the
# trigram index's 3 characters and stay a scan by design.
QUERIES = [
    ("word, ~5% of cases", "checkout"),
    ("phrase, ~0.3%", "rejects expired token"),
    ("identifier in code", "test_refunds_rounds"),
    ("reference path", "tests/test_webhooks.py::"),
    ("one case's number", "case 042424"),
    ("mixed case, inside words", "OUNDS CURR"),
    ("no match", "zzqxj"),
    ("2 chars (scan)", "zq"),
]


def _cases(project_id: str, n: int, seed: int = 12) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(n):
        area, action, thing = rng.choice(AREAS), rng.choice(ACTIONS), rng.choice(THINGS)
        slug = f"{area}_{action}_{thing.replace(' ', '_')}"
        has_ref = rng.random() < 0.3
        status = rng.choices(["active", "draft", "archived"], [85, 10, 5])[0]
        priority, rank = rng.choice([("critical", 0), ("high", 1), ("medium", 2), ("low", 3)])
        yield {
            "id": new_id(),
            "project_id": project_id,
            "title": f"{area.capitalize()} {action} {thing} (case {i:06})",
            "description": f"When the {thing} reaches {area}, the service {action} it "
                           f"and records why. Regression for ticket #{rng.randint(1, 9999)}.",
            "code": None if has_ref else (
                f"def test_{slug}_{i}():\n"
                f"    result = {area}.{action}({thing.replace(' ', '_')!r}, n={i % 97})\n"
                f"    assert result.ok, result.reason\n"
            ),
            "reference": f"tests/test_{area}.py::test_{slug}[{i}]" if has_ref else None,
            "priority": priority,
            "priority_rank": rank,
            "status": status,
            "origin": "imported",
            "created_at": start + timedelta(seconds=i),
            "updated_at": start + timedelta(seconds=i),
            "version": 1,
        }


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _measure(client: TestClient, headers: dict[str, str], params: dict[str, Any],
             repeat: int) -> dict[str, Any]:
    samples = []
    body: dict[str, Any] = {}
    for i in range(repeat + 3):
        started = time.perf_counter()
        r = client.get("/api/v1/tests", headers=headers, params=params)
        elapsed = (time.perf_counter() - started) * 1000
        r.raise_for_status()
        body = r.json()
        if i >= 3:  # warm-up: compiled statement cache, page cache
            samples.append(elapsed)
    p50, p95 = _percentiles(samples)
    return {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "total": body["total"],
            "first_ids": [t["id"] for t in body["items"][:5]]}


def _scenarios() -> list[tuple[str, dict[str, Any]]]:
    out = [(f"q: {label} ({q!r})", {"q": q}) for label, q in QUERIES]
    out.append(("q 'checkout', sort by title", {"q": "checkout", "sort": "title",
                                                "order": "asc"}))
    out.append(("no q, sort by title", {"sort": "title", "order": "asc"}))
    out.append(("no q, newest first", {}))
    return out


@contextmanager
def _app(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(settings, orchestrator=False)) as client:
        r = client.post("/api/v1/auth/login",
                        json={"username": "admin", "password": ADMIN_PASSWORD})
        r.raise_for_status()
        yield client, {"Authorization": f"Bearer {r.json()['access_token']}"}


def bench_database(name: str, url: str, cases: int, repeat: int,
                   work: Path) -> dict[str, Any]:
    data_dir = work / name
    data_dir.mkdir()
    settings = Settings(
        data_dir=data_dir, database_url=url, admin_password=ADMIN_PASSWORD,
        secret_key="bench-" + uuid.uuid4().hex, _env_file=None,  # type: ignore[call-arg]
    )
    with _app(settings) as (client, headers):
        other = tempfile.mkdtemp(dir=work)
        r = client.post("/api/v1/projects", headers=headers,
                        json={"name": "bench", "source": {"type": "path", "path": other}})
        r.raise_for_status()
        project_id = r.json()["id"]

    engine = create_engine(url)
    started = time.perf_counter()
    rows = list(_cases(project_id, cases))
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(TestCase.__table__), rows[i:i + 5000])
    insert_s = time.perf_counter() - started
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE test_cases"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"[{name}] inserted {cases} cases in {insert_s:.1f} s (search index kept by "
          "triggers on SQLite)", flush=True)

    results: dict[str, Any] = {"insert_s": round(insert_s, 1), "scenarios": {}}

    # Baseline: no search or title index, the plain LIKE predicate.
    downgrade(url, "0004")
    _vacuum_analyze(url)
    original: Callable[[str], Any] = tests_route.text_match
    tests_route.text_match = search._like  # type: ignore[assignment]
    try:
        with _app_no_migrate(settings) as (client, headers):
            for label, params in _scenarios():
                m = _measure(client, headers, {"project_id": project_id, **params}, repeat)
                results["scenarios"][label] = {"baseline": m}
                print(f"[{name}] baseline {label}: {m['p50_ms']} / {m['p95_ms']} ms "
                      f"(total {m['total']})", flush=True)
    finally:
        tests_route.text_match = original  # type: ignore[assignment]

    started = time.perf_counter()
    upgrade(url)
    results["migrate_s"] = round(time.perf_counter() - started, 1)
    _vacuum_analyze(url)
    print(f"[{name}] upgrade to head (index built from {cases} rows): "
          f"{results['migrate_s']} s", flush=True)
    with _app(settings) as (client, headers):
        for label, params in _scenarios():
            m = _measure(client, headers, {"project_id": project_id, **params}, repeat)
            base = results["scenarios"][label]["baseline"]
            same = (m["total"], m["first_ids"]) == (base["total"], base["first_ids"])
            results["scenarios"][label].update(indexed=m, same_results=same)
            print(f"[{name}] indexed  {label}: {m['p50_ms']} / {m['p95_ms']} ms "
                  f"(total {m['total']}, same results as baseline: {same})", flush=True)
    return results


@contextmanager
def _app_no_migrate(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on a database left below head on purpose: its start-up upgrade skipped."""
    import assay.api.app as app_module

    real = app_module.upgrade
    app_module.upgrade = lambda *_a, **_k: None  # type: ignore[assignment]
    try:
        with _app(settings) as pair:
            yield pair
    finally:
        app_module.upgrade = real  # type: ignore[assignment]


def _vacuum_analyze(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE test_cases" if engine.dialect.name == "postgresql"
                          else "ANALYZE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="assay-bench-search-"))
    report: dict[str, Any] = {"cases": args.cases, "repeat": args.repeat,
                              "sqlite_version": search.sqlite3.sqlite_version}
    report["sqlite"] = bench_database("sqlite", f"sqlite:///{work / 'assay.db'}",
                                      args.cases, args.repeat, work)
    if not args.no_postgres:
        db_name = f"assay_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        try:
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{db_name}"
            report["postgresql"] = bench_database("postgresql", url, args.cases,
                                                  args.repeat, work)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            admin.dispose()

    print(f"\n{args.cases} test cases, one project; p50 / p95 ms over {args.repeat} requests")
    for db in ("sqlite", "postgresql"):
        if db not in report:
            continue
        print(f"\n{db}:")
        print(f"  {'request':58} {'baseline':>17} {'indexed':>17}  same")
        for label, m in report[db]["scenarios"].items():
            b, x = m["baseline"], m["indexed"]
            print(f"  {label:58} {b['p50_ms']:7.1f} / {b['p95_ms']:7.1f} "
                  f"{x['p50_ms']:7.1f} / {x['p95_ms']:7.1f}  {m['same_results']}")
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    path = out / f"search-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
