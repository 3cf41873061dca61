"""An in-memory stand-in for the Redis server, for the few commands Assay's job channel uses.

Redis is outside the product, so the unit tier fakes it; everything on either side
of it (the orchestrator's executor and reply reader, the worker's delivery) is the
real code. One `FakeRedisServer` holds the data; `AsyncClient` is what
`redis.asyncio.Redis` is to the orchestrator, `SyncClient` what `redis.Redis` is to
a worker. Values come back as bytes, as from a real server. Expiry reads `clock`
(the virtual loop's time in tests that drive time).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

Fields = dict[bytes, bytes]


def _b(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class FakeRedisServer:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.values: dict[str, tuple[bytes, float | None]] = {}
        self.streams: dict[str, list[tuple[str, Fields]]] = {}
        self._seq = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    # -- keys ----------------------------------------------------------------------------
    def set(self, key: str, value: Any, ex: float | None = None, px: int | None = None) -> bool:
        ttl = ex if ex is not None else (px / 1000 if px is not None else None)
        self.values[key] = (_b(value), None if ttl is None else self.clock() + ttl)
        return True

    def get(self, key: str) -> bytes | None:
        item = self.values.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and self.clock() >= expires:
            del self.values[key]
            return None
        return value

    def exists(self, *keys: str) -> int:
        return sum(self.get(k) is not None or k in self.streams for k in keys)

    def delete(self, *keys: str) -> int:
        n = 0
        for k in keys:
            n += self.values.pop(k, None) is not None
            n += self.streams.pop(k, None) is not None
        return n

    # -- streams -------------------------------------------------------------------------
    def xadd(self, stream: str, fields: dict[Any, Any], **_: Any) -> bytes:
        self._seq += 1
        entry_id = f"{self._seq}-0"
        self.streams.setdefault(stream, []).append(
            (entry_id, {_b(k): _b(v) for k, v in fields.items()})
        )
        waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            loop.call_soon_threadsafe(_wake, fut)
        return entry_id.encode()

    def xrange_after(self, stream: str, last_id: str, count: int) -> list[tuple[bytes, Fields]]:
        after = _id_key(last_id)
        entries = [(_b(i), f) for i, f in self.streams.get(stream, []) if _id_key(i) > after]
        return entries[:count]

    def xtrim(self, stream: str, minid: str, **_: Any) -> int:
        entries = self.streams.get(stream, [])
        keep = [(i, f) for i, f in entries if _id_key(i) >= _id_key(minid)]
        self.streams[stream] = keep
        return len(entries) - len(keep)

    def new_entry_waiter(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append((loop, fut))
        return fut


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _SyncPipeline:
    def __init__(self, server: FakeRedisServer) -> None:
        self.server = server
        self.calls: list[Callable[[], Any]] = []

    def set(self, key: str, value: Any, ex: float | None = None, px: int | None = None) -> None:
        self.calls.append(lambda: self.server.set(key, value, ex=ex, px=px))

    def exists(self, *keys: str) -> None:
        self.calls.append(lambda: self.server.exists(*keys))

    def xtrim(self, stream: str, minid: str, approximate: bool = True) -> None:
        self.calls.append(lambda: self.server.xtrim(stream, minid))

    def execute(self) -> list[Any]:
        return [call() for call in self.calls]


class _AsyncPipeline(_SyncPipeline):
    async def execute(self) -> list[Any]:  # type: ignore[override]
        return super().execute()


class SyncClient:
    """What a worker's `redis.Redis` does, for the commands `Delivery` sends."""

    def __init__(self, server: FakeRedisServer) -> None:
        self.server = server

    def exists(self, *keys: str) -> int:
        return self.server.exists(*keys)

    def set(self, key: str, value: Any, ex: float | None = None, px: int | None = None) -> bool:
        return self.server.set(key, value, ex=ex, px=px)

    def delete(self, *keys: str) -> int:
        return self.server.delete(*keys)

    def xadd(self, stream: str, fields: dict[Any, Any], **kwargs: Any) -> bytes:
        return self.server.xadd(stream, fields, **kwargs)

    def pipeline(self) -> _SyncPipeline:
        return _SyncPipeline(self.server)


class AsyncClient:
    """What the orchestrator's `redis.asyncio.Redis` does, for its job commands."""

    def __init__(self, server: FakeRedisServer) -> None:
        self.server = server
        self.closed = False

    async def exists(self, *keys: str) -> int:
        return self.server.exists(*keys)

    async def set(
        self, key: str, value: Any, ex: float | None = None, px: int | None = None
    ) -> bool:
        return self.server.set(key, value, ex=ex, px=px)

    async def delete(self, *keys: str) -> int:
        return self.server.delete(*keys)

    async def xread(
        self, streams: dict[str, str], count: int = 1000, block: int | None = None
    ) -> list[list[Any]]:
        deadline = None if block is None else asyncio.get_running_loop().time() + block / 1000
        while True:
            found = []
            for stream, last_id in streams.items():
                entries = self.server.xrange_after(stream, last_id, count)
                if entries:
                    found.append([stream.encode(), entries])
            if found or deadline is None:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            # asyncio.wait, not wait_for: on 3.11 wait_for swallows a cancel that
            # arrives together with the wake-up, and a cancelled reader must stop.
            waiter = self.server.new_entry_waiter()
            done, _ = await asyncio.wait({waiter}, timeout=remaining)
            if not done:
                waiter.cancel()
                return []

    def pipeline(self) -> _AsyncPipeline:
        return _AsyncPipeline(self.server)

    async def aclose(self) -> None:
        self.closed = True
