"""Keeps the orchestrator running: restarts a crashed loop with back-off and counts it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from assay.contracts import events as ev
from assay.db.base import utcnow
from assay.events import store as events
from assay.orchestrator.core import Orchestrator
from assay.orchestrator.status import OrchestratorStatus, State
from assay.sandbox.isolation import isolation_warning

log = logging.getLogger("assay.orchestrator")


class Supervisor:
    """Owns the orchestrator task. `restart()` is the admin's clean stop-and-start."""

    def __init__(
        self,
        factory: Callable[[], Orchestrator],
        grace_seconds: float = 10.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.factory = factory
        self.grace_seconds = grace_seconds
        self.max_backoff = max_backoff
        self.orchestrator: Orchestrator | None = None
        self.restarts = 0
        self.crashes = 0
        self.last_crash: str | None = None
        self.started_at: datetime | None = None
        self._started_monotonic: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done() and not self._stopping

    async def start(self) -> None:
        async with self._lock:
            if self.running:
                return
            self._stopping = False
            self.started_at = utcnow()
            self._started_monotonic = time.monotonic()
            self._task = asyncio.create_task(self._supervise(), name="assay-supervisor")
            # Return once the loop is up, so a caller of start() can rely on it.
            for _ in range(200):
                if self.orchestrator is not None and self.orchestrator.last_heartbeat:
                    break
                await asyncio.sleep(0.01)

    async def _supervise(self) -> None:
        backoff = 0.5
        while not self._stopping:
            orch = self.factory()
            self.orchestrator = orch
            began = time.monotonic()
            try:
                await orch.run()
                return  # run() returns only when stopping
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.crashes += 1
                self.restarts += 1
                self.last_crash = f"{type(exc).__name__}: {exc}"
                if time.monotonic() - began > 60:
                    backoff = 0.5  # it ran fine for a while: start over gently
                log.exception(
                    "orchestrator crashed (restart %d); restarting in %.1f s",
                    self.restarts,
                    backoff,
                )
                try:
                    await orch.stop(grace_seconds=0)
                except Exception:
                    log.exception("cleaning up the crashed orchestrator failed")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                await self._record(
                    ev.OrchestratorRestarted(reason=self.last_crash, restarts=self.restarts))

    async def _record(self, payload: ev.EventPayload) -> None:
        orch = self.orchestrator
        if orch is None:
            return
        try:
            await orch.read(lambda s: events.append(s, payload))
        except Exception:
            log.exception("could not record %s", payload.type)

    async def stop(self) -> None:
        async with self._lock:
            self._stopping = True
            orch, task = self.orchestrator, self._task
            if orch is not None:
                try:
                    await orch.stop(self.grace_seconds)
                except Exception:
                    # The server's shutdown must go on (executor, jobs, database):
                    # an orchestrator that cannot record its stop is stopped anyway.
                    log.exception("stopping the orchestrator failed")
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._task = None

    async def restart(self) -> None:
        """A clean stop and start; work that was running goes back to the queue first."""
        await self.stop()
        self.restarts += 1
        await self.start()
        await self._record(ev.OrchestratorRestarted(reason="admin", restarts=self.restarts))

    def wake(self) -> None:
        if self.orchestrator is not None:
            self.orchestrator.wake.set()

    def on_event(self, event: dict[str, Any]) -> None:
        if self.orchestrator is not None and self.running:
            self.orchestrator.on_event(event)

    def snapshot(self, heartbeat_seconds: float) -> OrchestratorStatus:
        """The orchestrator as it is now, in one immutable value (see `status`)."""
        orch = self.orchestrator
        running = self.running
        beat = orch.last_heartbeat if orch else None
        state: State
        if not running:
            state = "stopped"
        elif beat is None:
            state = "degraded"
        else:
            age = (utcnow() - beat).total_seconds()
            state = "healthy" if age <= max(3 * heartbeat_seconds, 5) else "degraded"
        since = self._started_monotonic
        return OrchestratorStatus(
            state=state,
            running=running,
            executor=orch.executor.name if orch else "",
            slots=orch.executor.slots if orch else 0,
            busy=orch.busy if orch else 0,
            running_plans=len(orch.running) if orch else 0,
            dispatch_latency_ms=orch.latency.summary() if orch else {"p50": None, "p99": None},
            uptime_s=round(time.monotonic() - since, 1) if running and since else 0.0,
            last_heartbeat=beat,
            restarts=self.restarts,
            crashes=self.crashes,
            last_crash=self.last_crash,
            isolation=orch.isolation if orch else None,
            isolation_warning=isolation_warning(orch.isolation) if orch else None,
            sandbox_error=orch.sandbox_error if orch else None,
        )

