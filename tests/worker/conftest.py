"""Fixtures for the worker side: a world-searchable scratch dir and one cached environment.

Sandboxed code runs as `nobody` when the tests run as root, so everything it
reads must sit under world-searchable directories: pytest's own tmp dirs are
0700, hence `worker_dir`. The base environment (pytest + coverage) is built once
per session, or reused across sessions from ASSAY_TEST_ENV_CACHE.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assay.environments import EnvironmentPool, EnvSpec
from assay.runner import ItemFinished, ItemStarted, Job, JobItem, JobOutcome, run_job
from assay.runner.warm import WarmRunners
from assay.sandbox import Limits
from assay.sandbox.isolation import bwrap_path

ISOLATIONS = ["process", "bwrap"] if bwrap_path() else ["process"]


@pytest.fixture(scope="session")
def worker_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="assay-worker-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def env_pool(worker_dir: Path) -> EnvironmentPool:
    cache = os.environ.get("ASSAY_TEST_ENV_CACHE")
    return EnvironmentPool(Path(cache) if cache else worker_dir / "envs")


@pytest.fixture(scope="session")
def base_python(env_pool: EnvironmentPool) -> Path:
    async def build() -> Path:
        async with env_pool.lease(EnvSpec([])) as env:
            return env.python

    return asyncio.run(build())


@pytest.fixture
def scratch(worker_dir: Path, request: pytest.FixtureRequest) -> Path:
    path = Path(tempfile.mkdtemp(prefix="t-", dir=worker_dir))
    path.chmod(0o755)
    return path


@dataclass
class Recorded:
    outcome: JobOutcome
    events: list[tuple[float, ItemStarted | ItemFinished]] = field(default_factory=list)
    finished_at: float = 0.0

    @property
    def results(self) -> dict[str, ItemFinished]:
        return {e.key: e for _, e in self.events if isinstance(e, ItemFinished)}

    @property
    def started(self) -> dict[str, ItemStarted]:
        return {e.key: e for _, e in self.events if isinstance(e, ItemStarted)}


def code(key: str, source: str) -> JobItem:
    return JobItem(key=key, kind="code", code=source)


def ref(key: str, nodeid: str) -> JobItem:
    return JobItem(key=key, kind="reference", nodeid=nodeid)


def make_job(python: Path, scratch: Path, items: list[JobItem], *, isolation: str = "auto",
             snapshot: Path | None = None, test_timeout_s: float = 30.0, **limits: float) -> Job:
    return Job(job_id=scratch.name, items=items, python=python, snapshot_dir=snapshot,
               workspaces_dir=scratch / "ws", limits=Limits(**limits),  # type: ignore[arg-type]
               test_timeout_s=test_timeout_s, isolation=isolation)


async def record(
    job: Job,
    cancel: asyncio.Event | None = None,
    on_event: Callable[[ItemStarted | ItemFinished], None] | None = None,
    warm: WarmRunners | None = None,
) -> Recorded:
    """Run `job`, keeping every event; `on_event` sees each one as it arrives."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    events: list[tuple[float, ItemStarted | ItemFinished]] = []

    async def keep(event: ItemStarted | ItemFinished) -> None:
        events.append((loop.time() - t0, event))
        if on_event is not None:
            on_event(event)

    outcome = await run_job(job, keep, cancel, warm)
    rec = Recorded(outcome=outcome, events=events, finished_at=loop.time() - t0)
    keys = [e.key for _, e in events]
    for item in job.items:  # the contract: exactly one start and one finish per item
        assert keys.count(item.key) == 2, (item.key, events)
    return rec


def run(job: Job) -> Recorded:
    return asyncio.run(record(job))
