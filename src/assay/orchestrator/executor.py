"""Executors: where a job's sandboxed pytest process runs.

The orchestrator hands an executor a `JobSpec`: self-contained (test code, the
snapshot's content hash, the environment's spec, limits), with no database handle.
`LocalExecutor` leases an environment and runs the job as a sandboxed process on
this machine. The Celery executor (`assay.orchestrator.celery_executor`) ships the
same spec to workers on other machines, which fetch the snapshot by hash and build
the environment themselves. Both report through the same callback, and only the
orchestrator writes results to the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from assay.contracts.jobs import JobSpec
from assay.environments import EnvironmentPool
from assay.runner import ItemFinished, ItemStarted, JobOutcome, job_for, run_job
from assay.runner.warm import WarmRunners

__all__ = ["Executor", "JobSpec", "LocalExecutor", "OnEvent"]

OnEvent = Callable[[ItemStarted | ItemFinished], Awaitable[None]]


class Executor(Protocol):
    name: str
    slots: int

    async def run(self, spec: JobSpec, on_event: OnEvent, cancel: asyncio.Event) -> JobOutcome:
        """Run the job to the end (or until `cancel` is set); raise EnvironmentBuildError
        when the environment cannot be built."""
        ...

    async def close(self) -> None: ...


class LocalExecutor:
    """Runs each job in a sandboxed pytest process here; `slots` bounds how many at once."""

    name = "local"

    def __init__(self, slots: int, pool: EnvironmentPool, workspaces_dir: Path,
                 warm: WarmRunners | None = None) -> None:
        self.slots = slots
        self.pool = pool
        self.workspaces_dir = workspaces_dir
        self.warm = warm

    async def run(self, spec: JobSpec, on_event: OnEvent, cancel: asyncio.Event) -> JobOutcome:
        assert spec.snapshot_dir is not None, "the local executor runs local snapshots"
        async with self.pool.lease(spec.env_spec) as env:
            job = job_for(spec, env, spec.snapshot_dir, self.workspaces_dir)
            return await run_job(job, on_event, cancel, self.warm)

    async def close(self) -> None:
        if self.warm is not None:
            await self.warm.close()
