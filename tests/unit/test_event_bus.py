"""The in-process event bus (assay.events.bus): fan-out, and a slow subscriber's overflow.

A subscriber that falls behind must not stall anyone: its bounded queue ends with the
resync marker (None), it gets nothing more until it subscribes again (and replays from
the events table, as the WebSocket handler does), and every other subscriber and
listener still gets every event.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from assay.events.bus import SHUTDOWN, EventBus, EventDict, Subscription


def run(main: Callable[[EventBus], Coroutine[Any, Any, None]]) -> None:
    async def bound() -> None:
        bus = EventBus()
        bus.bind(asyncio.get_running_loop())
        await main(bus)

    asyncio.run(bound())


def ev(seq: int) -> EventDict:
    return {"seq": seq, "type": "test.finished", "plan_id": "p", "payload": {"n": seq}}


def drain(sub: Subscription) -> list[EventDict | None]:
    out: list[EventDict | None] = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out


def test_every_subscriber_and_listener_gets_every_event_in_order() -> None:
    heard: list[int] = []

    async def main(bus: EventBus) -> None:
        a, b = bus.subscribe(), bus.subscribe()
        bus.add_listener(lambda e: heard.append(e["seq"]))
        bus.publish_many([ev(1), ev(2)])
        bus.publish_many([ev(3)])
        for sub in (a, b):
            assert [await sub.get() for _ in range(3)] == [ev(1), ev(2), ev(3)]
            assert sub.queue.empty()

    run(main)
    assert heard == [1, 2, 3]


def test_a_slow_subscriber_overflows_is_told_and_others_are_unaffected() -> None:
    async def main(bus: EventBus) -> None:
        slow = bus.subscribe(maxsize=3)
        fast = bus.subscribe()
        heard: list[int] = []
        bus.add_listener(lambda e: heard.append(e["seq"]))
        for seq in range(1, 11):  # the slow one reads nothing meanwhile
            bus.publish_many([ev(seq)])
        assert slow.overflowed
        assert slow.queue.qsize() <= 3  # bounded: it never holds the backlog
        got = drain(slow)
        assert got[-1] is None  # the last thing it reads: "resync from the table"
        before = [e["seq"] for e in got[:-1] if e is not None]
        assert before == sorted(before) and set(before) <= set(range(1, 11))
        # After the marker it is skipped (no stale events after "resync").
        bus.publish_many([ev(11)])
        assert slow.queue.empty()
        assert [e["seq"] for e in drain(fast) if e] == list(range(1, 12))
        assert heard == list(range(1, 12))
        # Resubscribing, as the WebSocket handler does, gets it going again.
        slow.close()
        again = bus.subscribe(maxsize=3)
        bus.publish_many([ev(12)])
        assert await again.get() == ev(12)
        assert bus.subscribers == 2

    run(main)


def test_one_burst_larger_than_the_queue_overflows_at_once() -> None:
    async def main(bus: EventBus) -> None:
        slow, fast = bus.subscribe(maxsize=2), bus.subscribe()
        bus.publish_many([ev(n) for n in range(1, 6)])
        got = drain(slow)
        assert slow.overflowed and got[-1] is None and len(got) == 2
        assert len(drain(fast)) == 5

    run(main)


def test_events_published_from_another_thread_arrive_on_the_loop() -> None:
    async def main(bus: EventBus) -> None:
        sub = bus.subscribe()
        loop_thread = threading.get_ident()
        seen_on: list[int] = []
        bus.add_listener(lambda e: seen_on.append(threading.get_ident()))
        await asyncio.to_thread(bus.publish_many, [ev(1), ev(2)])
        assert await sub.get() == ev(1)
        assert await sub.get() == ev(2)
        assert seen_on == [loop_thread, loop_thread]

    run(main)


def test_forwarding_sees_each_batch_once_and_local_delivery_still_happens() -> None:
    forwarded: list[list[int]] = []

    async def main(bus: EventBus) -> None:
        sub = bus.subscribe()
        bus.forward = lambda events: forwarded.append([e["seq"] for e in events])
        bus.publish_many([ev(1), ev(2)])
        bus.deliver_local([ev(3)])  # what another server forwarded: not forwarded again
        assert [await sub.get() for _ in range(3)] == [ev(1), ev(2), ev(3)]

    run(main)
    assert forwarded == [[1, 2]]


def test_a_closed_subscription_gets_nothing() -> None:
    async def main(bus: EventBus) -> None:
        sub = bus.subscribe()
        sub.close()
        bus.publish_many([ev(1)])
        assert sub.queue.empty() and bus.subscribers == 0

    run(main)


def test_nothing_is_delivered_before_the_bus_is_bound() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    bus.publish_many([ev(1)])
    assert sub.queue.empty()


def test_shutdown_reaches_every_subscriber() -> None:
    async def main(bus: EventBus) -> None:
        a, b = bus.subscribe(), bus.subscribe()
        bus.publish_many([ev(1)])
        bus.shutdown()
        for sub in (a, b):
            assert await sub.get() == ev(1)
            assert await sub.get() is SHUTDOWN

    run(main)


def test_shutdown_reaches_a_subscriber_that_overflowed() -> None:
    async def main(bus: EventBus) -> None:
        slow = bus.subscribe(maxsize=2)
        bus.publish_many([ev(n) for n in range(1, 5)])
        assert slow.overflowed
        bus.shutdown()
        await asyncio.sleep(0)  # shutdown delivers with call_soon_threadsafe
        assert SHUTDOWN in drain(slow)

    run(main)


def test_encoding_is_shared_per_sequence_number() -> None:
    bus = EventBus()
    first = bus.encoded(ev(7))
    assert first == '{"seq": 7, "type": "test.finished", "plan_id": "p", "payload": {"n": 7}}'
    assert bus.encoded(dict(ev(7))) is first
    assert bus.encoded({"type": "hello"}) == '{"type": "hello"}'
