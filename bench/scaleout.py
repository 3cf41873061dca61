"""Scale-out benchmark: plan throughput with 1, 2 and 4 Celery workers, and dispatch latency.

Starts everything for real on this machine: a throw-away PostgreSQL database, one
`assay serve` (ASSAY_EXECUTOR=celery, Redis broker), N `celery -A assay.worker
worker` processes (concurrency 1 each), then

1. throughput: POSTs `--plans` one-test plans at once and times until the last
   finishes; CPU seconds per test are the workers' process trees' CPU (workers,
   pool processes and the sandboxed pytest runs they reaped);
2. dispatch latency: `--latency-plans` plans one after another, POST -> the test
   started (TestRun.started_at; includes pytest's start-up), p50/p99, for Celery
   and for the local executor side by side, plus the orchestrator's own
   created -> handed-to-executor figure from /execution/metrics.

Prints a table and writes JSON under bench/results/. Needs PostgreSQL and Redis
(ASSAY_BENCH_PG_URL, ASSAY_BENCH_REDIS_URL). Usage:
    .venv/bin/python bench/scaleout.py [--plans 1000] [--workers 1,2,4] [--latency-plans 50]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent
PG = os.environ.get("ASSAY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("ASSAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PASSWORD = "bench-admin-password"
API = "/api/v1"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scratch(root: Path, name: str) -> Path:
    path = root / f"{name}-{uuid.uuid4().hex[:6]}"
    path.mkdir(mode=0o755)
    return path


class Stack:
    """One server and its workers, all namespaced to this run."""

    def __init__(self, root: Path, db_url: str, executor: str) -> None:
        self.root = root
        self.db_url = db_url
        self.tag = uuid.uuid4().hex[:8]
        self.executor = executor
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.env_cache = root / "envs"
        self.env_cache.mkdir(exist_ok=True)
        self.url = ""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
        env.update({
            "ASSAY_BROKER_URL": REDIS, "ASSAY_REDIS_URL": REDIS,
            "ASSAY_REDIS_PREFIX": f"bench-{self.tag}", "ASSAY_CELERY_QUEUE": f"bench-{self.tag}",
            "ASSAY_ENV_CACHE_DIR": str(self.env_cache), "ASSAY_LOG_LEVEL": "WARNING",
        })
        return env

    def start_server(self) -> None:
        port = free_port()
        env = self.env()
        env.update({
            "ASSAY_DATABASE_URL": self.db_url, "ASSAY_DATA_DIR": str(scratch(self.root, "srv")),
            "ASSAY_PORT": str(port), "ASSAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "ASSAY_ADMIN_PASSWORD": PASSWORD, "ASSAY_EXECUTOR": self.executor,
            "ASSAY_SECRET_KEY": "bench-" + self.tag, "ASSAY_WORKERS": "2",
        })
        log = (self.root / f"server-{self.tag}.log").open("wb")
        proc = subprocess.Popen([str(BIN / "assay"), "serve"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}{API}/health", timeout=2).json().get(
                        "orchestrator", {}).get("running"):
                    return
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def start_worker(self) -> None:
        env = self.env()
        env["ASSAY_DATA_DIR"] = str(scratch(self.root, "wrk"))
        log = (self.root / f"worker-{self.tag}-{len(self.workers)}.log").open("wb")
        proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "assay.worker", "worker", "--loglevel=WARNING",
             f"--queues=bench-{self.tag}", f"--hostname=b{len(self.workers)}-{self.tag}@%h",
             "--concurrency=1", "--without-mingle", "--without-gossip"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(proc)
        self.procs.append(proc)

    def worker_cpu_s(self) -> float:
        """CPU of every worker process tree, including reaped sandbox children."""
        total = 0
        for proc in self.workers:
            for pid in [proc.pid, *_descendants(proc.pid)]:
                with contextlib.suppress(OSError):
                    data = Path(f"/proc/{pid}/stat").read_text()
                    fields = data[data.rindex(")") + 2:].split()
                    total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        return total / TICKS

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    kids = [int(p) for p in out.stdout.split()]
    return kids + [g for k in kids for g in _descendants(k)]


def fresh_database() -> str:
    name = f"assay_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def setup_project(client: httpx.Client, root: Path) -> tuple[dict[str, str], str, str]:
    r = client.post(f"{API}/auth/login", json={"username": "admin", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    project_dir = scratch(root, "project")
    (project_dir / "mod.py").write_text("def one():\n    return 1\n")
    source = {"type": "path", "path": str(project_dir)}
    r = client.post(f"{API}/projects", headers=headers,
                    json={"name": f"bench-{uuid.uuid4().hex[:6]}", "source": source})
    project = r.json()["id"]
    r = client.post(f"{API}/tests", headers=headers, json={
        "project_id": project, "title": "one",
        "code": "from mod import one\n\n\ndef test_one():\n    assert one() == 1\n"})
    return headers, project, r.json()["id"]


def post_plan(client: httpx.Client, headers: dict[str, str], project: str, case: str) -> str:
    r = client.post(f"{API}/execution/plans", headers=headers,
                    json={"project_id": project, "test_case_ids": [case]})
    r.raise_for_status()
    return str(r.json()["id"])


def open_plans(db_url: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM execution_plans "
                              "WHERE status IN ('queued','running')")).scalar_one()
    engine.dispose()
    return int(n)


def plan_times(db_url: str) -> list[tuple[datetime, datetime | None, datetime | None]]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.created_at, min(r.started_at), max(p.finished_at) FROM execution_plans p "
            "JOIN test_runs r ON r.plan_id = p.id GROUP BY p.id")).all()
    engine.dispose()
    return [(a, b, c) for a, b, c in rows]


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)


def throughput(root: Path, workers: int, plans: int) -> dict[str, Any]:
    db = fresh_database()
    stack = Stack(root, db, "celery")
    try:
        stack.start_server()
        for _ in range(workers):
            stack.start_worker()
        with httpx.Client(base_url=stack.url, timeout=60) as client:
            headers, project, case = setup_project(client, root)
            # warm up: the environment and the snapshot on every worker
            warm = [post_plan(client, headers, project, case) for _ in range(workers * 2)]
            while open_plans(db):
                time.sleep(0.2)
            cpu0 = stack.worker_cpu_s()
            started = time.monotonic()
            for _ in range(plans):
                post_plan(client, headers, project, case)
            while open_plans(db):
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            cpu = stack.worker_cpu_s() - cpu0
        del warm
        return {"workers": workers, "plans": plans, "seconds": round(elapsed, 2),
                "plans_per_s": round(plans / elapsed, 2),
                "worker_cpu_s_per_test": round(cpu / plans, 3)}
    finally:
        stack.stop()
        drop_database(db)


def latency(root: Path, executor: str, samples: int) -> dict[str, Any]:
    db = fresh_database()
    stack = Stack(root, db, executor)
    try:
        stack.start_server()
        if executor == "celery":
            stack.start_worker()
        with httpx.Client(base_url=stack.url, timeout=60) as client:
            headers, project, case = setup_project(client, root)
            for _ in range(3):  # warm up
                post_plan(client, headers, project, case)
                while open_plans(db):
                    time.sleep(0.05)
            engine = create_engine(db)
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM test_runs"))
                conn.execute(text("DELETE FROM execution_plans"))
            engine.dispose()
            for _ in range(samples):
                post_plan(client, headers, project, case)
                while open_plans(db):
                    time.sleep(0.02)
            metrics = client.get(f"{API}/execution/metrics").json()
        gaps = [(s - c).total_seconds() * 1000 for c, s, _ in plan_times(db) if s]
        return {"executor": executor, "samples": len(gaps),
                "post_to_test_started_ms": {"p50": pct(gaps, 50), "p99": pct(gaps, 99)},
                "orchestrator_dispatch_ms": {k: metrics["dispatch_latency_ms"].get(k)
                                             for k in ("p50", "p99")}}
    finally:
        stack.stop()
        drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency-plans", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="assay-bench-scaleout-"))
    root.chmod(0o755)
    try:
        curve = [throughput(root, int(n), args.plans) for n in args.workers.split(",")]
        lat = [latency(root, ex, args.latency_plans) for ex in ("local", "celery")]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nThroughput, {args.plans} one-test plans, Celery + Redis, {os.cpu_count()} cores")
    print(f"{'workers':>8} {'seconds':>9} {'plans/s':>8} {'CPU s/test':>11}")
    for row in curve:
        print(f"{row['workers']:>8} {row['seconds']:>9} {row['plans_per_s']:>8} "
              f"{row['worker_cpu_s_per_test']:>11}")
    print(f"\nDispatch latency, {args.latency_plans} plans one at a time (ms)")
    print(f"{'executor':>8} {'POST->test p50':>15} {'p99':>8} {'orch p50':>9} {'orch p99':>9}")
    for row in lat:
        a, o = row["post_to_test_started_ms"], row["orchestrator_dispatch_ms"]
        print(f"{row['executor']:>8} {a['p50']!s:>15} {a['p99']!s:>8} {o['p50']!s:>9} "
              f"{o['p99']!s:>9}")
    out = ROOT / "results" / f"scaleout-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"throughput": curve, "latency": lat, "cpus": os.cpu_count(),
                               "load_avg": os.getloadavg()}, indent=2))
    print(f"\nwrote {out.relative_to(ROOT.parent)}")


if __name__ == "__main__":
    main()
