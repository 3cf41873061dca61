"""A plan's results on their way to the database: one writer op per burst, not per test.

A job of 25,000 quick tests reports 50,000 item events in a few seconds. One writer
op (a closure, a future, two statements built anew) per event cost the server more
CPU than the tests cost pytest, so a large plan ran at the speed of its bookkeeping.
A `PlanRecorder` queues a plan's changes and keeps at most one flush op waiting in
the writer: what arrives while that op waits or commits goes into the next one, and
each flush is one `results.record` (a lookup, an executemany per kind, one
multi-row event insert). Latency stays one commit, as before; the cost per test is
a dict and a row.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sqlalchemy.orm import Session

from assay.orchestrator import results
from assay.orchestrator.results import PlanRef, RunChange
from assay.orchestrator.writer import BatchWriter


class PlanRecorder:
    def __init__(self, writer: BatchWriter, plan: PlanRef) -> None:
        self.writer = writer
        self.plan = plan
        self._pending: list[RunChange] = []
        self._scheduled = False
        self._lock = threading.Lock()  # the flush takes the queue in the writer's thread
        self._flushes: list[asyncio.Future[Any]] = []

    def add(self, change: RunChange) -> None:
        """Queue `change`; a flush is submitted unless one is already waiting."""
        with self._lock:
            self._pending.append(change)
            if self._scheduled:
                return
            self._scheduled = True
        self._flushes.append(asyncio.ensure_future(self.writer.submit(_Flush(self))))

    def take(self) -> list[RunChange]:
        with self._lock:
            changes, self._pending = self._pending, []
            self._scheduled = False
        return changes

    async def drain(self) -> None:
        """Wait until every queued change is written (or its write failed and was logged)."""
        while self._flushes:
            flushes, self._flushes = self._flushes, []
            await asyncio.gather(*flushes, return_exceptions=True)


class _Flush:
    """One writer op: takes the recorder's queue the first time it runs, and keeps it,
    so the writer's one-by-one retry of a failed batch writes the same changes."""

    def __init__(self, recorder: PlanRecorder) -> None:
        self.recorder = recorder
        self.changes: list[RunChange] | None = None

    def __call__(self, session: Session) -> list[bool]:
        if self.changes is None:
            self.changes = self.recorder.take()
        return results.record(session, self.recorder.plan, self.changes)
