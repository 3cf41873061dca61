"""The execution path with ASSAY_EXECUTOR=celery and real worker processes (Redis broker).

The server runs in-process (TestClient) against PostgreSQL; two `celery -A
assay.worker worker` subprocesses run the jobs. They share this machine, so they
may read the server's snapshot directory directly (`worker_trust_local_snapshots`);
fetching over HTTP with a job token is covered by the two-server test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.api.app import create_app
from assay.security.job_tokens import issue_snapshot_token
from assay.snapshots import unpack_snapshot
from assay.worker.celery_app import broker_priority
from tests.conftest import ADMIN_PASSWORD, login
from tests.gates import Gate
from tests.scaleout.conftest import Fleet, Namespace, Worker, events_of, scratch
from tests.scaleout.helpers import (
    API,
    add_test,
    create_plan,
    make_project,
    plan,
    runs_by_name,
    wait_for,
    wait_plan,
)

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def workers(two_workers: list[Worker]) -> list[Worker]:
    return two_workers


@pytest.fixture
def app(ns: Namespace, pg_url: str, env_cache_dir: Path,
        workers: list[Worker]) -> Iterator[TestClient]:
    settings = ns.settings(
        executor="celery",
        database_url=pg_url,
        data_dir=scratch(ns, "server"),
        admin_password=ADMIN_PASSWORD,
        secret_key="test-secret-" + uuid.uuid4().hex,
        env_cache_dir=env_cache_dir,
        celery_slots=8,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def admin(app: TestClient) -> dict[str, str]:
    return login(app, "admin", ADMIN_PASSWORD)


def finished_per_run(database_url: str, plan_id: str) -> Counter[str]:
    return Counter(e["payload"]["run_id"] for e in events_of(database_url, [plan_id])
                   if e["type"] == "test.finished")


def busy_child(workers: list[Worker]) -> tuple[Worker, int]:
    """The worker, and its pool process, that is running a job (it has a sandbox child)."""
    for worker in workers:
        for child in worker.children():
            grand = subprocess.run(["pgrep", "-P", str(child)], capture_output=True, text=True)
            if grand.stdout.strip():
                return worker, child
    raise AssertionError("no worker process is running a job")


def test_plan_runs_on_workers(app: TestClient, admin: dict[str, str], sample_project: Path,
                              pg_url: str) -> None:
    project = make_project(app, admin, sample_project, "calc")
    cases = [add_test(app, admin, project, name, reference=f"tests/test_calc.py::{name}")
             for name in ("test_add", "test_div", "test_broken")]
    own = "from calc import add\n\ndef test_own():\n    assert add(1, 2) == 3\n"
    cases.append(add_test(app, admin, project, "own", code=own))
    plan_id = create_plan(app, admin, project, cases, priority="high")
    body = wait_plan(app, admin, plan_id)
    runs = runs_by_name(body)
    assert body["status"] == "failed", body
    assert {n: r["status"] for n, r in runs.items()} == {
        "test_add": "passed", "test_div": "passed", "test_broken": "failed", "own": "passed"}
    assert "assert 2 == 3" in (runs["test_broken"]["failure"] or "")
    assert all(r["isolation"] for r in runs.values())
    counts = finished_per_run(pg_url, plan_id)
    assert sorted(counts.values()) == [1, 1, 1, 1]
    started = [e for e in events_of(pg_url, [plan_id]) if e["type"] == "test.started"]
    assert len(started) == 4


def sleepers(tag: str) -> list[int]:
    """Host pids of `sleep <tag>` processes (sandboxed, maybe in a PID namespace)."""
    out = subprocess.run(["pgrep", "-f", f"^sleep {tag}$"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    children = [int(p) for p in out.split()]
    return children + [d for c in children for d in descendants(c)]


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def run_status(app: TestClient, admin: dict[str, str], plan_id: str, name: str) -> str:
    return str(runs_by_name(plan(app, admin, plan_id))[name]["status"])


def test_cancel_stops_the_job_on_the_worker(
    app: TestClient, admin: dict[str, str], sample_project: Path, workers: list[Worker],
) -> None:
    tag = f"{600 + uuid.uuid4().int % 300}.{uuid.uuid4().int % 1000:03d}"
    code = (
        "import subprocess, time\n\n\n"
        "def test_sleeps():\n"
        f"    subprocess.Popen(['sleep', '{tag}'], start_new_session=True)\n"
        f"    time.sleep({tag})\n"
    )
    project = make_project(app, admin, sample_project, "cancel")
    plan_id = create_plan(app, admin, project, [add_test(app, admin, project, "sleeps", code=code)])
    wait_for(lambda: sleepers(tag), 60, "the test to start on a worker")
    busy_child(workers)  # a worker process has a sandbox under it
    r = app.post(f"{API}/execution/plans/{plan_id}/cancel", headers=admin)
    assert r.status_code == 200, r.text
    body = wait_plan(app, admin, plan_id, timeout=60)
    assert body["status"] == "cancelled", body
    wait_for(lambda: not sleepers(tag), 60, "the setsid() child to be killed too")

    def tree_gone() -> bool:
        """No job below any worker: no cold pytest (a pool process's child's child) and
        no forked warm job (named `assay-job`); the warm runner itself stays."""
        below = [pid for w in workers for c in w.children() for pid in descendants(c)]
        return not any(comm(pid) in ("assay-job", "pytest") or b"-m\0pytest" in cmdline(pid)
                       for pid in below)

    wait_for(tree_gone, 60, "the job's process tree to be killed")


@pytest.mark.parametrize("what", ["pool-process", "whole-worker"])
def test_worker_killed_mid_job_is_redelivered(
    what: str, app: TestClient, admin: dict[str, str], sample_project: Path,
    workers: list[Worker], module_fleet: Fleet, pg_url: str,
) -> None:
    """kill -9 mid-test: the job runs again elsewhere and each test is recorded once."""
    project = make_project(app, admin, sample_project, f"kill-{what}")
    fast = add_test(app, admin, project, "fast", code="def test_fast():\n    assert True\n")
    # `slow` holds its job on the worker until released: the kill lands mid-test.
    gate = Gate([w.data_dir for w in workers])
    slow = add_test(app, admin, project, "slow", code=gate.code("test_slow"))
    plan_id = create_plan(app, admin, project, [fast, slow])
    wait_for(lambda: run_status(app, admin, plan_id, "slow") == "running", 60,
             "the server to record the slow test's start")
    gate.wait_started()  # and it really is inside the test, in a worker's sandbox
    first_fast = runs_by_name(plan(app, admin, plan_id))["fast"]
    assert first_fast["status"] == "passed"
    victim, child = busy_child(workers)
    if what == "pool-process":
        os.kill(child, 9)  # Celery: reject on worker lost -> the broker redelivers
    else:
        victim.kill9()  # the machine is gone: the orchestrator sends the job again
        workers.remove(victim)  # (the module fleet's own list)
    with gate.releasing():  # the job's second run must get through
        body = wait_plan(app, admin, plan_id)
    runs = runs_by_name(body)
    assert body["status"] == "passed", body
    assert runs["slow"]["status"] == "passed"
    assert runs["fast"]["finished_at"] == first_fast["finished_at"], "fast was recorded twice"
    assert sorted(finished_per_run(pg_url, plan_id).values()) == [1, 1]
    started = [e for e in events_of(pg_url, [plan_id]) if e["type"] == "plan.started"]
    assert len(started) == 1, "the plan itself was dispatched once"
    if what == "whole-worker":
        module_fleet.start(concurrency=1, trust_local=True)


def test_workers_endpoint_and_metrics(app: TestClient, admin: dict[str, str],
                                      workers: list[Worker]) -> None:
    names = {w.name for w in workers}

    def seen() -> dict[str, dict[str, object]] | None:
        body = app.get(f"{API}/workers", headers=admin).json()
        found = {w["name"]: w for w in body["workers"] if w["name"] in names}
        ready = len(found) == len(names) and all(w["concurrency"] for w in found.values())
        return found if ready else None

    found = wait_for(seen, 60, "the workers' heartbeats")
    for info in found.values():
        assert info["concurrency"] == 1 and info["online"] is True
        assert info["busy"] == 0 and info["last_heartbeat"]
    metrics = app.get(f"{API}/execution/metrics").json()
    assert metrics["workers_total"] >= len(names)
    assert metrics["workers_busy"] == 0


def test_snapshot_route_needs_a_job_token(app: TestClient, admin: dict[str, str],
                                          sample_project: Path, ns: Namespace) -> None:
    project = make_project(app, admin, sample_project, "snap")
    case = add_test(app, admin, project, "ok", code="def test_ok():\n    pass\n")
    body = wait_plan(app, admin, create_plan(app, admin, project, [case]))
    digest = body["snapshot_hash"]
    url = f"{API}/snapshots/{digest}"
    secret = app.app.state.ctx.settings.resolved_secret_key()  # type: ignore[attr-defined]
    assert app.get(url).status_code == 401
    assert app.get(url, headers=admin).status_code == 401  # a user token is not a job token
    other = issue_snapshot_token("0" * 64, secret, 60)
    assert app.get(url, headers={"Authorization": f"Bearer {other}"}).status_code == 401
    expired = issue_snapshot_token(digest, secret, -1)
    assert app.get(url, headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    token = issue_snapshot_token(digest, secret, 60)
    r = app.get(url, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert (unpack_snapshot(r.content, scratch(ns, "unpacked"), digest) / "calc").is_dir()
    # and the job token is no login
    me = app.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


def test_broker_priority_orders_plans_on_both_brokers() -> None:
    redis_order = [broker_priority(rank, "redis://x") for rank in range(4)]
    amqp_order = [broker_priority(rank, "amqp://x") for rank in range(4)]
    assert redis_order == sorted(redis_order)  # Redis transport: lower number first
    assert amqp_order == sorted(amqp_order, reverse=True)  # RabbitMQ: higher number first
    assert len(set(redis_order)) == len(set(amqp_order)) == 4


def test_worker_process_loads_no_database_code(tmp_path: Path) -> None:
    code = (
        "import sys, assay.worker\n"
        "assay.worker.get_app()\n"
        "import assay.worker.task, assay.worker.delivery\n"
        "bad = [m for m in sys.modules if m.startswith(('sqlalchemy', 'assay.db', 'psycopg'))]\n"
        "assert not bad, bad\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    # (the timeout only stops a hang; how long the imports take is not the point)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
