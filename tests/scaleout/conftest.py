"""Scale-out fixtures: real Celery workers, real `assay serve` servers, real brokers.

Everything a test session creates is namespaced, so parallel sessions on one
machine never see each other's jobs: a random Redis database for the broker, a
unique Celery queue (with its own control and event exchanges) and a unique Redis
key prefix. Sandboxed tests run as `nobody` when we are root, so every directory
a job reads sits under a world-searchable scratch dir (pytest's tmp dirs are 0700).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from assay.config import Settings
from assay.worker.celery_app import make_celery
from tests.conftest import ADMIN_PASSWORD, _truncate_pg

REDIS_HOST = os.environ.get("ASSAY_TEST_REDIS_HOST", "127.0.0.1")
AMQP_URL = os.environ.get("ASSAY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
BIN = Path(sys.executable).parent
API = "/api/v1"

SAMPLE_TESTS = (
    "from calc import add, div\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_div():\n    assert div(6, 3) == 2\n\n\n"
    "def test_broken():\n    assert add(1, 1) == 3\n"
)


@dataclass
class Namespace:
    """One session's private corner of Redis and the brokers."""

    tag: str
    redis_db: int
    root: Path

    @property
    def redis_url(self) -> str:
        return f"redis://{REDIS_HOST}:6379/{self.redis_db}"

    @property
    def queue(self) -> str:
        return f"assay-test-{self.tag}"

    @property
    def prefix(self) -> str:
        return f"assay-test-{self.tag}"

    def env(self, broker: str = "redis") -> dict[str, str]:
        return {
            "ASSAY_BROKER_URL": self.redis_url if broker == "redis" else AMQP_URL,
            "ASSAY_REDIS_URL": self.redis_url,
            "ASSAY_REDIS_PREFIX": self.prefix,
            "ASSAY_CELERY_QUEUE": self.queue + ("" if broker == "redis" else "-amqp"),
            "ASSAY_JOB_HEARTBEAT_SECONDS": "0.5",
            "ASSAY_SANDBOX": "auto",
        }

    def settings(self, broker: str = "redis", **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            k.removeprefix("ASSAY_").lower(): v for k, v in self.env(broker).items()
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def ns() -> Iterator[Namespace]:
    root = Path(tempfile.mkdtemp(prefix="assay-scaleout-"))
    root.chmod(0o755)
    space = Namespace(uuid.uuid4().hex[:10], random.randint(1, 15), root)
    yield space
    client = redis.Redis.from_url(space.redis_url)
    with contextlib.suppress(redis.RedisError):
        for key in client.scan_iter(match=f"{space.prefix}*", count=1000):
            client.delete(key)
        for key in client.scan_iter(match=f"{space.queue}*", count=1000):
            client.delete(key)
    for broker in ("redis", "amqp"):  # drop the session's queues from the brokers
        with contextlib.suppress(Exception):
            app = make_celery(space.settings(broker))
            with app.connection_for_write() as conn:
                conn.default_channel.queue_delete(space.settings(broker).celery_queue)
            app.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def env_cache_dir(ns: Namespace) -> Path:
    shared = os.environ.get("ASSAY_TEST_ENV_CACHE")
    path = Path(shared) if shared else ns.root / "envs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def scratch(ns: Namespace, name: str) -> Path:
    path = ns.root / f"{name}-{uuid.uuid4().hex[:6]}"
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    return path


@pytest.fixture
def sample_project(ns: Namespace) -> Path:
    root = scratch(ns, "project")
    (root / "calc").mkdir()
    (root / "calc" / "__init__.py").write_text(
        "def add(a: int, b: int) -> int:\n    return a + b\n\n\n"
        "def div(a: float, b: float) -> float:\n    return a / b\n"
    )
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(SAMPLE_TESTS)
    return root


# -- Celery workers -------------------------------------------------------------------
@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    data_dir: Path

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def kill9(self) -> None:
        """The machine dies: the worker and everything under it, at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@dataclass
class Fleet:
    ns: Namespace
    env_cache: Path
    workers: list[Worker] = field(default_factory=list)

    def start(
        self, broker: str = "redis", concurrency: int = 1, trust_local: bool = False,
        wait: bool = True,
    ) -> Worker:
        name = f"w{len(self.workers)}-{uuid.uuid4().hex[:4]}@{socket.gethostname()}"
        data = scratch(self.ns, "worker")
        log = data / "worker.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
        env.update(self.ns.env(broker))
        env.update({
            "ASSAY_DATA_DIR": str(data),
            "ASSAY_ENV_CACHE_DIR": str(self.env_cache),
            "ASSAY_WORKER_TRUST_LOCAL_SNAPSHOTS": "true" if trust_local else "false",
        })
        settings = self.ns.settings(broker)
        proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "assay.worker", "worker", "--loglevel=INFO",
             f"--queues={settings.celery_queue}", f"--hostname={name}",
             f"--concurrency={concurrency}", "--without-mingle", "--without-gossip"],
            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        worker = Worker(name, proc, log, data)
        self.workers.append(worker)
        if wait:
            self.wait_ready(worker, broker)
        return worker

    def wait_ready(self, worker: Worker, broker: str = "redis", timeout: float = 60) -> None:
        app = make_celery(self.ns.settings(broker))
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                assert worker.proc.poll() is None, f"worker exited:\n{worker.tail()}"
                if app.control.ping(destination=[worker.name], timeout=0.5):
                    return
            raise AssertionError(f"worker {worker.name} not ready:\n{worker.tail()}")
        finally:
            app.close()

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()


@pytest.fixture
def fleet(ns: Namespace, env_cache_dir: Path) -> Iterator[Fleet]:
    f = Fleet(ns, env_cache_dir)
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def module_fleet(ns: Namespace, env_cache_dir: Path) -> Iterator[Fleet]:
    f = Fleet(ns, env_cache_dir)
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def two_workers(module_fleet: Fleet) -> list[Worker]:
    """Two ready workers (concurrency 1, sharing this machine's snapshots) per module."""
    for _ in range(2):
        module_fleet.start(concurrency=1, trust_local=True, wait=False)
    for worker in module_fleet.workers:
        module_fleet.wait_ready(worker)
    return module_fleet.workers


# -- databases and servers ------------------------------------------------------------
@pytest.fixture
def pg_url(pg_database: str) -> str:
    _truncate_pg(pg_database)
    return pg_database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@pytest.fixture
def start_server(ns: Namespace) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []
    secret = "scaleout-secret-" + uuid.uuid4().hex

    def start(database_url: str, **extra: str) -> Server:
        port = free_port()
        data = scratch(ns, "server")
        log = data / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
        env.update(ns.env("redis"))
        env.update({
            "ASSAY_DATABASE_URL": database_url,
            "ASSAY_DATA_DIR": str(data),
            "ASSAY_PORT": str(port),
            "ASSAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "ASSAY_SECRET_KEY": secret,
            "ASSAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ASSAY_EXECUTOR": "celery",
            "ASSAY_RECONCILE_SECONDS": "5",
        })
        env.update(extra)
        proc = subprocess.Popen([str(BIN / "assay"), "serve"], env=env, stdout=log.open("wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        server = Server(f"http://127.0.0.1:{port}", proc, log)
        servers.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"server exited:\n{server.tail()}"
            with contextlib.suppress(httpx.HTTPError):
                health = httpx.get(f"{server.url}{API}/health", timeout=2).json()
                if health.get("orchestrator", {}).get("running"):
                    return server
            time.sleep(0.2)
        raise AssertionError(f"server did not start:\n{server.tail()}")

    yield start
    for server in servers:
        server.stop()


def admin_headers(base_url: str) -> dict[str, str]:
    r = httpx.post(f"{base_url}{API}/auth/login",
                   json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def events_of(database_url: str, plan_ids: list[str] | None = None) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT seq, type, plan_id, payload, created_at FROM events ORDER BY seq"
            )).mappings().all()
    finally:
        engine.dispose()
    out = [dict(r) for r in rows]
    return [e for e in out if plan_ids is None or e["plan_id"] in plan_ids]
