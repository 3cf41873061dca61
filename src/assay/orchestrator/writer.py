"""Batches result writes: one transaction per burst of results, not one per test.

A batch of a thousand quick tests reports a thousand results in under a second;
writing each in its own transaction would cost more than running the tests. The
writer drains whatever arrived while the previous transaction was committing, so
latency stays at one commit and throughput grows with load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from assay.db.engine import Database

log = logging.getLogger("assay.orchestrator")

Op = Callable[[Session], Any]


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
            batch, self._pending = self._pending, []
            if batch:
                await self._flush(batch)
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
