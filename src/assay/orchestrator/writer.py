"""Batches result writes: one transaction per burst of results, not one per test.

A batch of a thousand quick tests reports a thousand results in under a second;
writing each in its own transaction would cost more than running the tests. The
writer drains whatever arrived while the previous transaction was committing, so
latency stays at one commit and throughput grows with load.

A writer that falls behind (results arriving faster than it writes them) must not
hold the database: uncapped, its batches grew until one transaction held SQLite's
lock past every other writer's 30 s busy timeout, and the orchestrator's own claims
and the API's requests failed with "database is locked" (a 100,000-test plan). So a
batch holds at most MAX_BATCH ops, and after a large one on SQLite the writer leaves
the lock free for longer than a waiter's longest busy-handler sleep (SQLite does not
queue its waiters). Small batches (an interactive run) are written at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from assay.db.engine import Database

log = logging.getLogger("assay.orchestrator")

Op = Callable[[Session], Any]
MAX_BATCH = 2_000
"""Ops per transaction at most. Without a cap a writer that falls behind (results
arriving faster than they are written) writes ever larger batches, until one holds
the database longer than any other writer waits (30 s on SQLite)."""
LARGE_BATCH = 200
"""Ops in a batch from which, on SQLite, the writer pauses before the next one."""
LONG_HOLD_S = 0.05
"""A batch that held the lock this long is large too (one op may record a plan's burst
of thousands of results, see `assay.orchestrator.recorder`)."""
SQLITE_PAUSE_S = 0.12
"""Longer than SQLite's longest busy-handler sleep (100 ms), so a waiter gets in."""


class BatchWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[tuple[Op, asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="assay-result-writer")

    async def submit(self, op: Op) -> Any:
        """Run `op(session)` in the next batch transaction; returns its result."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((op, fut))
        self._wake.set()
        return await fut

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            if self._pending:
                self._wake.set()  # the rest is the next batch, without waiting for more
            if batch:
                began = time.monotonic()
                await self._flush(batch)
                held = time.monotonic() - began
                if (len(batch) >= LARGE_BATCH or held >= LONG_HOLD_S) and \
                        not self.db.is_postgres and not self._closing:
                    await asyncio.sleep(SQLITE_PAUSE_S)  # let other writers in
            if self._closing and not self._pending:
                return

    async def _flush(self, batch: list[tuple[Op, asyncio.Future[Any]]]) -> None:
        def work() -> list[Any]:
            with self.db.session() as session:
                return [op(session) for op, _ in batch]

        try:
            results = await asyncio.to_thread(work)
        except Exception as exc:
            log.exception("result batch failed; retrying one by one")
            for op, fut in batch:
                try:
                    one = await asyncio.to_thread(self._single, op)
                    if not fut.done():
                        fut.set_result(one)
                except Exception as inner:
                    if not fut.done():
                        fut.set_exception(inner)
            del exc
            return
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)

    def _single(self, op: Op) -> Any:
        with self.db.session() as session:
            return op(session)

    async def close(self) -> None:
        """Write what is pending, and let a batch being committed finish, then stop.

        Not a cancel: a batch inside its transaction (in a thread) would be committed
        after `close()` returned, and its submitters never answered.
        """
        self._closing = True
        if self._task is None or self._task.done():
            if self._pending:
                batch, self._pending = self._pending, []
                await self._flush(batch)
            return
        self._wake.set()
        await self._task
