"""Executors: where a job's sandboxed pytest process runs.

`LocalExecutor` runs jobs as sandboxed processes on this machine. The Celery executor
(`assay.orchestrator.celery_executor`) ships the same self-contained job to workers on
other machines. Both report through the same callback, and only the orchestrator
writes the results to the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from assay.runner import ItemFinished, ItemStarted, Job, JobOutcome, run_job

OnEvent = Callable[[ItemStarted | ItemFinished], Awaitable[None]]


class Executor(Protocol):
    name: str
    slots: int

    async def run(self, job: Job, on_event: OnEvent, cancel: asyncio.Event) -> JobOutcome: ...

    async def close(self) -> None: ...


class LocalExecutor:
    """Runs each job in a sandboxed pytest process here; `slots` bounds how many at once."""

    name = "local"

    def __init__(self, slots: int) -> None:
        self.slots = slots

    async def run(self, job: Job, on_event: OnEvent, cancel: asyncio.Event) -> JobOutcome:
        return await run_job(job, on_event, cancel)

    async def close(self) -> None:
        return None
