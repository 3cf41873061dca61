"""A controllable clock for asyncio code: an event loop whose time is virtual.

The loop's clock stands still while anything can still happen now (ready callbacks,
I/O, work handed to a thread) and jumps straight to the next timer when nothing
can. So `asyncio.sleep(30)`, `wait_for(..., 5)` and `call_later` in the code under
test take no real time, and the order and virtual moments of what happens are exact
and reproducible: a test never waits on the wall clock and never needs a margin.

`VirtualMonotonic(loop)` stands in for the `time` module of code that measures
elapsed time with `time.monotonic()` directly, reading the same virtual clock.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, TypeVar, TypeVarTuple, Unpack

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

HORIZON_S = 4 * 3600.0
"""No test here waits this long in virtual time: past it, something waits forever."""


class VirtualTimeoutError(AssertionError):
    """The virtual clock ran past its horizon: a test waits for what never happens."""


class _Selector(selectors.DefaultSelector):
    loop: VirtualTimeLoop

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        if timeout is None or timeout <= 0:
            return super().select(timeout)
        if self.loop.threads_busy:
            # A thread is working for the loop: its result is "now", so wait for it
            # (really) before any timer may fire.
            return super().select(None)
        ready = super().select(0)
        if not ready:
            self.loop.advance(timeout)
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        selector = _Selector()
        super().__init__(selector)
        selector.loop = self
        self._now = 0.0
        self.threads_busy = 0
        self.horizon = HORIZON_S

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds
        if self._now > self.horizon:
            # Fail at once rather than spin through virtual time until pytest's timeout.
            raise VirtualTimeoutError(f"still waiting after {self.horizon:g} virtual seconds")

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[Unpack[Ts]], T], *args: *Ts
    ) -> asyncio.Future[T]:
        fut = super().run_in_executor(executor, func, *args)
        self.threads_busy += 1

        def done(_: asyncio.Future[T]) -> None:
            self.threads_busy -= 1

        fut.add_done_callback(done)
        return fut


class VirtualMonotonic:
    """Stands in for the `time` module in a module that calls `time.monotonic()`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def monotonic(self) -> float:
        return self._loop.time()


def run_virtual(main: Callable[[VirtualTimeLoop], Coroutine[Any, Any, T]]) -> T:
    """Run `main(loop)` to completion on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        # As asyncio.run does: what the code under test left running is cancelled and
        # allowed to finish, so no coroutine is finalized after the loop is closed.
        loop.horizon = float("inf")
        loop.run_until_complete(_cancel_the_rest())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


async def _cancel_the_rest() -> None:
    me = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
