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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assay.environments import Environment, EnvironmentPool, EnvSpec
from assay.runner import ItemFinished, ItemStarted, Job, JobItem, JobOutcome, run_job
from assay.sandbox import Limits

OnEvent = Callable[[ItemStarted | ItemFinished], Awaitable[None]]


@dataclass
class JobSpec:
    """Everything a worker needs to run one batch, and nothing it must not hold."""

    job_id: str
    plan_id: str
    priority_rank: int
    items: list[JobItem]
    snapshot_hash: str
    env_spec: EnvSpec
    limits: Limits
    test_timeout_s: float
    isolation: str
    # Set for the local executor: the snapshot is already on this machine.
    snapshot_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The project's settings for its tests: environment variables and pytest arguments.
    test_env: dict[str, str] = field(default_factory=dict)
    pytest_args: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "plan_id": self.plan_id,
            "priority_rank": self.priority_rank,
            "items": [i.to_dict() for i in self.items],
            "snapshot_hash": self.snapshot_hash,
            "env_spec": self.env_spec.to_dict(),
            "limits": self.limits.to_dict(),
            "test_timeout_s": self.test_timeout_s,
            "isolation": self.isolation,
            "extra": self.extra,
            "test_env": self.test_env,
            "pytest_args": self.pytest_args,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobSpec:
        return cls(
            job_id=d["job_id"],
            plan_id=d["plan_id"],
            priority_rank=int(d["priority_rank"]),
            items=[JobItem(**i) for i in d["items"]],
            snapshot_hash=d["snapshot_hash"],
            env_spec=EnvSpec(**d["env_spec"]),
            limits=Limits.from_dict(d["limits"]),
            test_timeout_s=float(d["test_timeout_s"]),
            isolation=d["isolation"],
            extra=d.get("extra") or {},
            test_env=dict(d.get("test_env") or {}),
            pytest_args=list(d.get("pytest_args") or []),
        )

    def to_job(self, env: Environment, snapshot_dir: Path, workspaces_dir: Path) -> Job:
        """The job for `env`; the project is installed (cached per snapshot) when its spec says."""
        install = env.install_dir(self.snapshot_hash) if self.env_spec.install_project else None
        return Job(
            install_dir=install,
            test_env=self.test_env,
            pytest_args=self.pytest_args,
            job_id=self.job_id,
            items=self.items,
            python=env.python,
            snapshot_dir=snapshot_dir,
            workspaces_dir=workspaces_dir,
            limits=self.limits,
            test_timeout_s=self.test_timeout_s,
            isolation=self.isolation,
        )


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

    def __init__(self, slots: int, pool: EnvironmentPool, workspaces_dir: Path) -> None:
        self.slots = slots
        self.pool = pool
        self.workspaces_dir = workspaces_dir

    async def run(self, spec: JobSpec, on_event: OnEvent, cancel: asyncio.Event) -> JobOutcome:
        assert spec.snapshot_dir is not None, "the local executor runs local snapshots"
        async with self.pool.lease(spec.env_spec) as env:
            job = spec.to_job(env, spec.snapshot_dir, self.workspaces_dir)
            return await run_job(job, on_event, cancel)

    async def close(self) -> None:
        return None
