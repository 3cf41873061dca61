"""The orchestrator's end of the reply channel: one Redis stream, read by one task.

Every worker that runs a job of this orchestrator appends the job's replies
(started, per-test events, outcome) to this orchestrator's stream. One reader
turns them into per-job inboxes, so a thousand jobs in flight cost one blocking
read, not a thousand. The reader also keeps this orchestrator's `alive` key, by
which workers know someone still waits for their results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError

from assay.contracts.replies import REPLY, Reply
from assay.worker.keys import executor_alive, reply_stream

log = logging.getLogger("assay.orchestrator")
BLOCK_MS = 1000
ALIVE_TTL_S = 30
HOUSEKEEPING_S = 5.0


class ReplyReader:
    def __init__(self, client: aioredis.Redis, prefix: str, executor_id: str) -> None:
        self.redis = client
        self.stream = reply_stream(prefix, executor_id)
        self.alive_key = executor_alive(prefix, executor_id)
        self.inboxes: dict[str, asyncio.Queue[Reply]] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_id = "0-0"

    async def start(self) -> None:
        if self._task is None or self._task.done():
            await self.redis.set(self.alive_key, "1", ex=ALIVE_TTL_S)
            self._task = asyncio.create_task(self._loop(), name="assay-celery-replies")

    def open(self, job_id: str) -> asyncio.Queue[Reply]:
        inbox: asyncio.Queue[Reply] = asyncio.Queue()
        self.inboxes[job_id] = inbox
        return inbox

    def close_inbox(self, job_id: str) -> None:
        self.inboxes.pop(job_id, None)

    async def _loop(self) -> None:
        next_housekeeping = 0.0
        while True:
            try:
                if time.monotonic() >= next_housekeeping:
                    await self._housekeeping()
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_S
                found = await self.redis.xread(
                    {self.stream: self._last_id}, count=1000, block=BLOCK_MS
                )
                for _stream, entries in found or []:
                    for entry_id, fields in entries:
                        self._last_id = _text(entry_id)
                        self._dispatch(fields)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading Celery job replies failed; retrying")
                await asyncio.sleep(1.0)

    def _dispatch(self, fields: dict[Any, Any]) -> None:
        data = {_text(k): _text(v) for k, v in fields.items()}
        inbox = self.inboxes.get(data.get("job", ""))
        if inbox is None:
            return  # a job this orchestrator no longer waits for (a late duplicate)
        try:
            reply = REPLY.validate_json(data.get("data") or "{}")
        except ValidationError as exc:
            log.warning("unreadable reply for job %s: %s", data.get("job"), exc)
            return
        inbox.put_nowait(reply)

    async def _housekeeping(self) -> None:
        pipe = self.redis.pipeline()
        pipe.set(self.alive_key, "1", ex=ALIVE_TTL_S)
        if self._last_id != "0-0":
            pipe.xtrim(self.stream, minid=self._last_id, approximate=True)
        await pipe.execute()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self.redis.delete(self.alive_key, self.stream)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
