"""In-process fan-out of committed events to WebSocket clients and the orchestrator.

Publishing is thread-safe: API handlers run in worker threads, subscribers live on
the event loop. A slow subscriber's queue is bounded; when it overflows the
subscriber is told to resync from the events table instead of stalling everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

EventDict = dict[str, Any]

# Put in every subscriber's queue when the server begins to stop: WebSocket handlers
# close at once (code 1012, "service restart") so clients reconnect and replay, and
# the server does not wait out its graceful-shutdown timeout on idle sockets.
SHUTDOWN: EventDict = {"type": "server.shutdown"}


class Subscription:
    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self.bus = bus
        self.queue: asyncio.Queue[EventDict | None] = asyncio.Queue(maxsize)
        self.overflowed = False

    async def get(self) -> EventDict | None:
        """The next event; None when the subscriber fell behind and must replay."""
        return await self.queue.get()

    def close(self) -> None:
        self.bus.unsubscribe(self)


class EventBus:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._listeners: list[Callable[[EventDict], None]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.forward: Callable[[list[EventDict]], None] | None = None
        self._encoded: OrderedDict[int, str] = OrderedDict()

    def encoded(self, event: EventDict) -> str:
        """The event as JSON, encoded once and shared by every socket that sends it."""
        seq = event.get("seq")
        if seq is None:
            return json.dumps(event)
        text = self._encoded.get(seq)
        if text is None:
            text = self._encoded[seq] = json.dumps(event)
            if len(self._encoded) > 4096:
                self._encoded.popitem(last=False)
        return text

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on this loop (the server's); events published before are dropped."""
        self._loop = loop

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        sub = Subscription(self, maxsize)
        with self._lock:
            self._subs.add(sub)
        return sub

    @property
    def subscribers(self) -> int:
        """Live subscriptions (one per open WebSocket): what a closed tab must give back."""
        with self._lock:
            return len(self._subs)

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def shutdown(self) -> None:
        """Tell every subscriber the server is stopping (safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def close_all() -> None:
            with self._lock:
                subs = list(self._subs)
            for sub in subs:
                if sub.queue.full():
                    # Its socket closes at SHUTDOWN and the client replays from its
                    # last seq: the oldest undelivered event may make room.
                    sub.queue.get_nowait()
                sub.queue.put_nowait(SHUTDOWN)

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(close_all)

    def add_listener(self, fn: Callable[[EventDict], None]) -> None:
        """Call `fn(event)` on the loop for every event (the orchestrator's wake-up)."""
        self._listeners.append(fn)

    def publish_many(self, events: Iterable[EventDict]) -> None:
        events = list(events)
        if self.forward is not None:
            # Fan-out to other servers (Redis); they deliver through deliver_local.
            self.forward(events)
        self.deliver_local(events)

    def deliver_local(self, events: list[EventDict]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(events)
        else:
            with contextlib.suppress(RuntimeError):  # loop shutting down
                loop.call_soon_threadsafe(self._deliver, events)

    def _deliver(self, events: list[EventDict]) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if sub.overflowed:
                continue
            for ev in events:
                try:
                    sub.queue.put_nowait(ev)
                except asyncio.QueueFull:
                    sub.overflowed = True
                    # Make room for the resync marker.
                    with contextlib.suppress(asyncio.QueueEmpty):
                        sub.queue.get_nowait()
                    sub.queue.put_nowait(None)
                    break
        for fn in self._listeners:
            for ev in events:
                fn(ev)
