"""What every sandboxed run of a project's code starts with, written once.

A plan's batch, a suite import and a generation all need the same three steps: a
snapshot of the project's source, a lease on the environment its declarations ask
for, and the limits its sandbox runs under. Doing them here keeps them from
drifting apart (a file-size limit that applied to plans only, a timeout
hard-coded in one of them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.config import Settings
from assay.environments import Environment, EnvironmentPool
from assay.sandbox import Limits
from assay.services.source import SourceSnapshot, snapshot_source

Phase = Callable[[str], Awaitable[None]]


def sandbox_limits(settings: Settings, wall_seconds: float | None = None) -> Limits:
    """The limits of one sandboxed run: the settings', with its own wall clock.

    CPU time is bounded by the same number of seconds as the wall clock: a run
    cannot use more CPU than it has time for on one core, and a busy loop in a
    test is stopped by the kernel even if the parent misses the deadline.
    """
    wall = settings.job_timeout_seconds if wall_seconds is None else wall_seconds
    return Limits(
        wall_seconds=wall,
        cpu_seconds=max(1, int(wall)),
        memory_bytes=settings.memory_limit_mb << 20,
        file_size_bytes=settings.file_size_limit_mb << 20,
        max_processes=settings.max_processes,
        output_bytes=settings.output_limit_bytes,
    )


@dataclass(frozen=True)
class Prepared:
    """A snapshot with its environment leased: ready for a sandboxed run."""

    snapshot: SourceSnapshot
    env: Environment

    @property
    def install_dir(self) -> Path | None:
        """Where the project's install for this snapshot is cached (None: not installed)."""
        if not self.snapshot.env_spec.install_project:
            return None
        return self.env.install_dir(self.snapshot.digest)


@asynccontextmanager
async def prepared(
    source: dict[str, Any],
    project_settings: dict[str, Any] | None,
    settings: Settings,
    pool: EnvironmentPool,
    on_phase: Phase | None = None,
) -> AsyncIterator[Prepared]:
    """Snapshot the project (in a thread: it copies files) and lease its environment.

    `on_phase` hears "snapshot" and "environment" as each begins, for progress events.
    """
    if on_phase is not None:
        await on_phase("snapshot")
    snap = await asyncio.to_thread(snapshot_source, source, settings, project_settings)
    if on_phase is not None:
        await on_phase("environment")
    async with pool.lease(snap.env_spec) as env:
        yield Prepared(snap, env)
