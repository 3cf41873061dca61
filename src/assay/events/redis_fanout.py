"""Events across API servers: publish what this server committed, deliver the others'.

With several servers on one database, a WebSocket client on server A must see a
plan that server B runs, and B's orchestrator must wake when A queues a plan.
Each server publishes its committed events on one Redis channel and delivers
every other server's events to its local bus (WebSockets, orchestrator
wake-ups). Redis pub/sub may drop a message; nothing depends on it alone: the
WebSocket handler fills any gap in sequence numbers from the events table, and
the orchestrator's reconcile pass picks up any plan whose wake-up was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

import redis.asyncio as aioredis

from assay.events.bus import EventBus, EventDict
from assay.worker.keys import events_channel

log = logging.getLogger("assay.events")

RECONNECT_S = 1.0


class RedisFanout:
    def __init__(self, bus: EventBus, url: str, prefix: str) -> None:
        self.bus = bus
        self.url = url
        self.channel = events_channel(prefix)
        self.server_id = uuid.uuid4().hex
        self._outbox: asyncio.Queue[list[EventDict]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: aioredis.Redis | None = None
        self.subscribed = asyncio.Event()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._redis = aioredis.Redis.from_url(self.url)
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name="assay-fanout-publish"),
            asyncio.create_task(self._subscribe_loop(), name="assay-fanout-subscribe"),
        ]
        self.bus.forward = self.forward
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout=5)

    def forward(self, events: list[EventDict]) -> None:
        """Bus hook (any thread, right after commit): queue the events for publishing."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop shutting down
            loop.call_soon_threadsafe(self._outbox.put_nowait, events)

    async def _publish_loop(self) -> None:
        assert self._redis is not None
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            events = [ev for chunk in batch for ev in chunk]
            message = json.dumps({"origin": self.server_id, "events": events}, default=str)
            try:
                await self._redis.publish(self.channel, message)
            except Exception:
                log.exception("publishing %d event(s) to Redis failed", len(events))

    async def _subscribe_loop(self) -> None:
        assert self._redis is not None
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.subscribed.set()
                async for message in pubsub.listen():
                    self._receive(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Redis event subscription failed; reconnecting")
                await asyncio.sleep(RECONNECT_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[attr-defined]

    def _receive(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        try:
            body = json.loads(message["data"])
        except (ValueError, KeyError, TypeError):
            return
        if body.get("origin") == self.server_id:
            return  # ours: already delivered locally
        events = body.get("events") or []
        if events:
            self.bus.deliver_local(events)

    async def stop(self) -> None:
        if self.bus.forward == self.forward:
            self.bus.forward = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()  # type: ignore[attr-defined]
