"""Execution benchmarks (issue 3): dispatch latency, batch overhead, event latency.

Runs a real `assay serve` (SQLite, local executor, sandboxed pytest) and measures:

1. dispatch latency, POST /execution/plans -> the test process started (the run's
   `started_at`, written when pytest reports the test began), p50/p99 over
   `--plans` one-test plans sent one after another, by a client that polls for the
   plan's end and by one that waits on a WebSocket; and the same with wake-ups
   off, so only the 5-second reconcile pass dispatches (the seed's poll) — the
   baseline, over fewer plans because each waits up to 5 s;
2. overhead: 1,000 trivial tests in 10 test cases through Assay (API -> results
   stored) divided by bare `python -m pytest` on the same 10 files with the same
   interpreter, both measured in this run;
3. event latency to `--clients` connected WebSocket clients: server event
   timestamp -> received by each client, p50/p99;
4. a one-test plan, POST -> its `plan.finished` event on a WebSocket, median of
   `--one-test` sent one after another, and the CPU seconds per plan of the server's
   whole process tree (sandboxes and warm runners included), with warm runners on and
   off (`ASSAY_WARM_RUNNERS=false`), beside a bare cold `python -m pytest -q` of the
   same file in the same environment.

Prints a table and writes JSON under bench/results/. Usage:
    .venv/bin/python bench/execution.py [--plans 200] [--poll-plans 20] [--clients 100]
        [--project-files 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.sync.client import connect as ws_connect

ROOT = Path(__file__).resolve().parent
PASSWORD = "bench-admin-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)


class Server:
    def __init__(self, root: Path, envs: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data = root / f"data-{self.port}"
        data.mkdir(mode=0o755)
        self.log = (data / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assay", "serve"],
            env={**{k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")},
                 "ASSAY_DATA_DIR": str(data), "ASSAY_PORT": str(self.port),
                 "ASSAY_ADMIN_PASSWORD": PASSWORD, "ASSAY_ENV_CACHE_DIR": str(envs),
                 "ASSAY_LOG_LEVEL": "WARNING", **env},
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = httpx.post(f"{self.url}/api/v1/auth/login",
                           json={"username": "admin", "password": PASSWORD}).json()["access_token"]
        self.token = token
        self.api = httpx.Client(base_url=f"{self.url}/api/v1", timeout=120,
                                headers={"Authorization": f"Bearer {token}"})

    def project(self, path: Path) -> str:
        r = self.api.post("/projects", json={"name": path.name,
                                             "source": {"type": "path", "path": str(path)}})
        r.raise_for_status()
        return str(r.json()["id"])

    def add(self, project: str, code: str, title: str = "t") -> str:
        r = self.api.post("/tests", json={"project_id": project, "title": title, "code": code})
        r.raise_for_status()
        return str(r.json()["id"])

    def plan(self, project: str, ids: list[str]) -> str:
        r = self.api.post("/execution/plans", json={"project_id": project, "test_case_ids": ids})
        r.raise_for_status()
        return str(r.json()["id"])

    def wait(self, plan_id: str, interval: float = 0.02) -> dict[str, Any]:
        while True:
            plan = self.api.get(f"/execution/plans/{plan_id}").json()
            if plan["status"] not in ("queued", "running"):
                return dict(plan)
            time.sleep(interval)

    @contextlib.contextmanager
    def events(self) -> Iterator[Any]:
        """A WebSocket on the event stream, past its hello and catch-up."""
        ws_url = self.url.replace("http", "ws") + f"/api/v1/ws?token={self.token}"
        with ws_connect(ws_url, max_size=None) as ws:
            json.loads(ws.recv())  # hello
            json.loads(ws.recv())  # caught_up
            yield ws

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()


def until_finished(ws: Any, plan_id: str) -> None:
    """Read events until `plan_id`'s `plan.finished`."""
    while True:
        msg = json.loads(ws.recv())
        if msg["type"] == "plan.finished" and msg.get("plan_id", msg.get(
                "payload", {}).get("plan_id")) == plan_id:
            return


def tree_cpu_s(root_pid: int) -> float:
    """CPU seconds of `root_pid` and every live descendant, each with its reaped children.

    A process that ends moves its time into its parent's `cutime`, so the sum is the
    whole tree's CPU whether or not its parts are still running.
    """
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]),
                                      sum(int(f) for f in fields[11:15]) / tick)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo.extend(children.get(pid, []))
    return total


def one_test_plans(server: Server, project: str, n: int) -> dict[str, float]:
    """POST -> plan.finished (seen on a WebSocket) and tree CPU per plan, `n` one after another."""
    test = server.add(project, "def test_one():\n    assert 1 + 1 == 2\n", title="one")
    server.wait(server.plan(project, [test]))  # environment, snapshot, warm runner ready
    samples: list[float] = []
    with server.events() as ws:
        cpu0 = tree_cpu_s(server.proc.pid)
        for _ in range(n):
            sent = time.perf_counter()
            plan_id = server.plan(project, [test])
            until_finished(ws, plan_id)
            samples.append(time.perf_counter() - sent)
        cpu = tree_cpu_s(server.proc.pid) - cpu0
    runs = server.api.get(f"/execution/plans/{plan_id}").json()["runs"]
    assert runs[0]["status"] == "passed", runs
    return {"n": n, "median_ms": round(statistics.median(samples) * 1000, 1),
            "p90_ms": pct([s * 1000 for s in samples], 90),
            "cpu_s_per_plan": round(cpu / n, 4), "start": str(runs[0].get("start"))}


def bare_one_test(root: Path, envs: Path, n: int, extra: tuple[str, ...] = ()) -> float:
    """Median seconds of a bare cold `python -m pytest -q` of one one-test file.

    In the environment Assay built (pytest, coverage and hypothesis: the issue's
    baseline); with `extra` = `-p no:hypothesispytest`, as in a developer's venv
    without hypothesis, which is what Assay's own runs now load for such a project.
    """
    bare = root / "bare-one"
    bare.mkdir(exist_ok=True)
    (bare / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    python = next(envs.glob("*/*/venv/bin/python"))
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra,
                        "test_one.py"], cwd=bare, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def dispatch_latency(server: Server, project: str, n: int, *, websocket: bool = False
                     ) -> list[float]:
    """POST -> the run's `started_at`, ms, for `n` one-test plans sent one after another.

    The client learns that a plan ended either by polling `GET /execution/plans/{id}`
    every 20 ms (the seed's way, and this bench's first figure) or, with `websocket`,
    from its `plan.finished` event, as the dashboard and `assay run` do. A poll that
    lands while the plan is being dispatched competes with it for the server's event
    loop and for the 2 cores; a WebSocket client sends nothing until the plan is over.
    """
    test = server.add(project, "def test_started():\n    pass\n")
    server.wait(server.plan(project, [test]))  # warm: environment and snapshot cached
    if not websocket:
        samples = []
        for _ in range(n):
            sent = datetime.now(UTC)
            plan = server.wait(server.plan(project, [test]))
            started = datetime.fromisoformat(plan["runs"][0]["started_at"])
            samples.append((started - sent).total_seconds() * 1000)
        return samples
    samples = []
    with server.events() as ws:
        for _ in range(n):
            sent = datetime.now(UTC)
            plan_id = server.plan(project, [test])
            until_finished(ws, plan_id)
            plan = server.api.get(f"/execution/plans/{plan_id}").json()
            started = datetime.fromisoformat(plan["runs"][0]["started_at"])
            samples.append((started - sent).total_seconds() * 1000)
    return samples


def overhead(server: Server, root: Path, envs: Path) -> dict[str, float]:
    proj = root / "overhead"
    (proj / "tests").mkdir(parents=True)
    project = server.project(proj)
    codes = ["".join(f"def test_{m}_{i}():\n    assert {i} == {i}\n\n" for i in range(100))
             for m in range(10)]
    ids = [server.add(project, code, title=f"module {m}") for m, code in enumerate(codes)]
    server.wait(server.plan(project, ids[:1]))  # warm the environment
    started = time.perf_counter()
    plan = server.wait(server.plan(project, ids), interval=0.01)
    assay_s = time.perf_counter() - started
    assert plan["counts"]["passed"] == 10, plan["counts"]

    bare = root / "bare"
    bare.mkdir()
    for m, code in enumerate(codes):
        (bare / f"test_module_{m}.py").write_text(code)
    python = next(envs.glob("*/*/venv/bin/python"))
    started = time.perf_counter()
    subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(bare)],
                   cwd=bare, check=True, capture_output=True)
    bare_s = time.perf_counter() - started
    return {"assay_s": round(assay_s, 3), "bare_pytest_s": round(bare_s, 3),
            "ratio": round(assay_s / bare_s, 2)}


async def event_latency(server: Server, project: str, clients: int, plans: int) -> list[float]:
    test = server.add(project, "def test_quick():\n    pass\n")
    ws_url = server.url.replace("http", "ws") + f"/api/v1/ws?token={server.token}"
    samples: list[float] = []
    conns = [await websockets.connect(ws_url, max_queue=None) for _ in range(clients)]
    for ws in conns:
        json.loads(await ws.recv())  # hello
        json.loads(await ws.recv())  # caught_up

    async def listen(ws: Any, expect: int) -> None:
        seen = 0
        while seen < expect:
            msg = json.loads(await ws.recv())
            now = datetime.now(UTC)
            if msg["type"] == "plan.finished":
                seen += 1
            if "." in msg["type"]:
                created = datetime.fromisoformat(msg["created_at"])
                samples.append((now - created).total_seconds() * 1000)

    listeners = [asyncio.create_task(listen(ws, plans)) for ws in conns]
    for _ in range(plans):
        await asyncio.to_thread(server.plan, project, [test])
        await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*listeners), timeout=300)
    for ws in conns:
        await ws.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=200)
    parser.add_argument("--poll-plans", type=int, default=20)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--event-plans", type=int, default=20)
    parser.add_argument("--one-test", type=int, default=30)
    parser.add_argument("--project-files", type=int, default=0,
                        help="extra modules in the sample project (default none)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    root.chmod(0o755)
    envs = root / "envs"
    envs.mkdir()
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "when": time.time()}
    try:
        proj = root / "sample"
        proj.mkdir()
        (proj / "mod.py").write_text("VALUE = 1\n")
        for i in range(args.project_files):  # a real project's size: every job copies it
            (proj / "sample_pkg" / f"part{i % 40}").mkdir(parents=True, exist_ok=True)
            (proj / "sample_pkg" / f"part{i % 40}" / f"m{i}.py").write_text("X = 1\n" * 40)

        server = Server(root, envs)
        try:
            project = server.project(proj)
            events = dispatch_latency(server, project, args.plans)
            results["dispatch_event_driven_ms"] = {
                "n": len(events), "p50": pct(events, 50), "p99": pct(events, 99),
                "mean": round(statistics.mean(events), 1)}
            quiet = dispatch_latency(server, project, args.plans, websocket=True)
            results["dispatch_event_driven_ws_client_ms"] = {
                "n": len(quiet), "p50": pct(quiet, 50), "p99": pct(quiet, 99),
                "mean": round(statistics.mean(quiet), 1)}
            results["orchestrator_created_to_executor_ms"] = server.api.get(
                "/execution/metrics").json()["dispatch_latency_ms"]
            results["overhead_1000_tests"] = overhead(server, root, envs)
            ev = asyncio.run(event_latency(server, project, args.clients, args.event_plans))
            results["ws_event_latency_ms"] = {
                "clients": args.clients, "events_received": len(ev),
                "p50": pct(ev, 50), "p99": pct(ev, 99)}
            results["one_test_warm"] = one_test_plans(server, project, args.one_test)
        finally:
            server.stop()

        cold = Server(root, envs, ASSAY_WARM_RUNNERS="false")
        try:
            results["one_test_cold"] = one_test_plans(cold, cold.project(proj), args.one_test)
        finally:
            cold.stop()
        results["bare_cold_pytest_one_test_ms"] = round(
            bare_one_test(root, envs, args.one_test) * 1000, 1)
        results["bare_cold_pytest_no_hypothesis_ms"] = round(bare_one_test(
            root, envs, args.one_test, ("-p", "no:hypothesispytest")) * 1000, 1)

        poll = Server(root, envs, ASSAY_DISPATCH_WAKEUPS="false")
        try:
            project = poll.project(proj)
            polled = dispatch_latency(poll, project, args.poll_plans)
            results["dispatch_5s_poll_baseline_ms"] = {
                "n": len(polled), "p50": pct(polled, 50), "p99": pct(polled, 99),
                "mean": round(statistics.mean(polled), 1)}
        finally:
            poll.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    d, p = results["dispatch_event_driven_ms"], results["dispatch_5s_poll_baseline_ms"]
    o, w = results["overhead_1000_tests"], results["ws_event_latency_ms"]
    print(f"{'measure':<44}{'p50':>10}{'p99':>10}{'goal':>12}")
    print(f"{'dispatch latency, event-driven (ms)':<44}{d['p50']:>10}{d['p99']:>10}{'p99<=50':>12}")
    q = results["dispatch_event_driven_ws_client_ms"]
    print(f"{'  the same, client waits on a WebSocket':<44}{q['p50']:>10}{q['p99']:>10}"
          f"{'p99<=50':>12}")
    print(f"{'dispatch latency, 5 s poll baseline (ms)':<44}{p['p50']:>10}{p['p99']:>10}{'':>12}")
    print(f"{'WebSocket event latency, ' + str(w['clients']) + ' clients (ms)':<44}"
          f"{w['p50']:>10}{w['p99']:>10}{'p99<=50':>12}")
    print(f"overhead, 1,000 tests in 10 cases: Assay {o['assay_s']} s / bare pytest "
          f"{o['bare_pytest_s']} s = {o['ratio']} (goal <= 1.15)")
    bare_ms = results["bare_cold_pytest_one_test_ms"]
    lean_ms = results["bare_cold_pytest_no_hypothesis_ms"]
    print(f"\none-test plan, POST -> plan.finished, median of {args.one_test}; "
          f"bare cold pytest of the file: {bare_ms} ms (without hypothesis's plugin: "
          f"{lean_ms} ms)")
    print(f"{'start':<10}{'median ms':>11}{'p90 ms':>9}{'÷ bare':>9}{'÷ lean':>9}"
          f"{'CPU s/plan':>12}{'runs said':>11}")
    for key in ("one_test_warm", "one_test_cold"):
        r = results[key]
        r["ratio_to_bare"] = round(r["median_ms"] / bare_ms, 3)
        r["ratio_to_bare_no_hypothesis"] = round(r["median_ms"] / lean_ms, 3)
        print(f"{key.removeprefix('one_test_'):<10}{r['median_ms']:>11}{r['p90_ms']:>9}"
              f"{r['ratio_to_bare']:>9}{r['ratio_to_bare_no_hypothesis']:>9}"
              f"{r['cpu_s_per_plan']:>12}{r['start']:>11}")
    print("goals: ÷ bare <= 0.15, CPU <= 0.05 s/plan")
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / "execution.json").write_text(json.dumps(results, indent=2))
    print(f"written {out / 'execution.json'}")


if __name__ == "__main__":
    main()
