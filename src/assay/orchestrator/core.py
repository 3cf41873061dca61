"""The orchestrator loop: woken by events, it claims plans and runs them.

Dispatch is event-driven: a `plan.queued` event (published when the API's
transaction commits) wakes the loop at once. The reconcile pass every
`ASSAY_RECONCILE_SECONDS` is only the safety net for a lost wake-up and for leases
that expired because a server or worker died.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.config import Settings
from assay.contracts import events as ev
from assay.db.base import utcnow
from assay.db.engine import Database
from assay.db.models import ExecutionPlan, PlanStatus
from assay.environments import EnvironmentPool
from assay.events import store as events
from assay.orchestrator import queue
from assay.orchestrator.executor import Executor
from assay.orchestrator.metrics import LatencyWindow
from assay.orchestrator.owner import owner_is_dead, process_owner
from assay.orchestrator.plan_execution import PlanExecution
from assay.orchestrator.writer import BatchWriter
from assay.sandbox import SandboxUnavailable, resolve_isolation

log = logging.getLogger("assay.orchestrator")
T = TypeVar("T")


class Orchestrator:
    def __init__(self, settings: Settings, db: Database, executor: Executor,
                 pool: EnvironmentPool) -> None:
        self.settings = settings
        self.db = db
        self.executor = executor
        self.pool = pool
        self.owner = process_owner()
        self.isolation, self.sandbox_error = _isolation(self.settings.sandbox)
        self.wake = asyncio.Event()
        self.running: dict[str, PlanExecution] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.job_slots = asyncio.Semaphore(executor.slots)
        self.busy = 0
        self.latency = LatencyWindow()
        self.writer = BatchWriter(db)
        self.last_heartbeat: datetime | None = None
        self.stopping = False

    # -- database helpers -------------------------------------------------------------
    async def read(self, fn: Callable[[Session], T], *, readonly: bool = False) -> T:
        """`fn` in a transaction of its own, in a thread; `readonly` when it only reads
        (on SQLite it then waits for no writer)."""
        def work() -> T:
            with self.db.session(readonly=readonly) as session:
                return fn(session)

        return await asyncio.to_thread(work)

    # -- events -----------------------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        """Bus listener (runs on the loop): wake for new work, stop cancelled plans."""
        kind = event["type"]
        if kind in ("plan.queued", "plan.requeued"):
            if self.settings.dispatch_wakeups:
                self.wake.set()
        elif kind == "plan.cancelled":
            execution = self.running.get(event.get("plan_id") or "")
            if execution is not None:
                execution.cancel.set()

    @contextlib.contextmanager
    def running_job(self, created_at: datetime) -> Iterator[None]:
        """A job holds an executor slot: counted as busy, its dispatch latency noted."""
        self.latency.add((utcnow() - created_at).total_seconds() * 1000)
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1

    # -- the loop ---------------------------------------------------------------------
    async def run(self) -> None:
        self.writer.start()
        heartbeat = asyncio.create_task(self._heartbeat(), name="assay-heartbeat")
        try:
            await self.read(
                lambda s: events.append(
                    s,
                    ev.OrchestratorStarted(
                        owner=self.owner,
                        executor=self.executor.name,
                        slots=self.executor.slots,
                        isolation=self.isolation,
                    ),
                )
            )
            log.info(
                "Test execution orchestrator started (owner=%s executor=%s slots=%d sandbox=%s)",
                self.owner,
                self.executor.name,
                self.executor.slots,
                self.isolation,
            )
            await self.reconcile()
            next_reconcile = time.monotonic() + self.settings.reconcile_seconds
            while not self.stopping:
                self.wake.clear()
                await self.dispatch()
                timeout = max(0.0, next_reconcile - time.monotonic())
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout)
                except TimeoutError:
                    await self.reconcile()
                    next_reconcile = time.monotonic() + self.settings.reconcile_seconds
        finally:
            heartbeat.cancel()

    def has_capacity(self) -> bool:
        return not self.stopping and len(self.running) < self.executor.slots

    async def dispatch(self) -> list[str]:
        """Claim plans while there is capacity; return the ids claimed."""
        claimed: list[str] = []
        while self.has_capacity():
            plan_id = await self.read(self._claim)
            if plan_id is None:
                break
            claimed.append(plan_id)
            self._start(plan_id)
        return claimed

    def _claim(self, session: Session) -> str | None:
        plan = queue.claim_next(session, self.owner, self.settings.lease_seconds)
        return plan.id if plan else None

    def _start(self, plan_id: str) -> None:
        execution = PlanExecution(self, plan_id)
        self.running[plan_id] = execution
        task = asyncio.create_task(execution.run(), name=f"assay-plan-{plan_id}")
        self.tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            self.running.pop(plan_id, None)
            if not t.cancelled() and t.exception() is not None:
                log.error("plan %s crashed: %r", plan_id, t.exception())
            self.wake.set()  # a slot is free

        task.add_done_callback(done)

    async def reconcile(self) -> list[str]:
        """The safety net: recover expired leases, then claim what is waiting."""

        def recover(session: Session) -> list[dict[str, Any]]:
            owners = set(
                session.scalars(
                    select(ExecutionPlan.lease_owner)
                    .where(
                        ExecutionPlan.status == PlanStatus.running.value,
                        ExecutionPlan.lease_owner.is_not(None),
                    )
                    .distinct()
                )
            )
            dead = {o for o in owners if o and owner_is_dead(o)}
            return queue.recover_expired(session, self.settings.max_attempts, dead)

        recovered = await self.read(recover)
        for item in recovered:
            log.warning("recovered plan %s: %s", item["plan_id"], item["action"])
        return await self.dispatch()

    async def _heartbeat(self) -> None:
        while True:
            try:
                ids = list(self.running)
                if ids:
                    lost = await self.read(functools.partial(self._renew, ids=ids))
                    for plan_id in lost:
                        log.warning("lost the lease of plan %s; stopping its jobs", plan_id)
                        if plan_id in self.running:
                            self.running[plan_id].cancel.set()
                self.last_heartbeat = utcnow()
            except Exception:
                log.exception("heartbeat failed")
            await asyncio.sleep(self.settings.heartbeat_seconds)

    def _renew(self, session: Session, ids: list[str]) -> list[str]:
        """Extend our leases; return the plans whose lease another owner has taken."""
        queue.renew_leases(session, self.owner, ids, self.settings.lease_seconds)
        return self._lost_leases(session, ids)

    def _lost_leases(self, session: Session, ids: list[str]) -> list[str]:
        still = set(
            session.scalars(
                select(ExecutionPlan.id).where(
                    ExecutionPlan.id.in_(ids),
                    ExecutionPlan.lease_owner == self.owner,
                    ExecutionPlan.status == PlanStatus.running.value,
                )
            )
        )
        # A plan that finished or was cancelled is not "lost": its task is ending anyway.
        return [i for i in ids if i not in still and self._is_running_elsewhere(session, i)]

    @staticmethod
    def _is_running_elsewhere(session: Session, plan_id: str) -> bool:
        plan = session.get(ExecutionPlan, plan_id)
        return plan is not None and plan.status in (
            PlanStatus.queued.value,
            PlanStatus.running.value,
        )

    async def stop(self, grace_seconds: float) -> None:
        """Stop dispatching, let running jobs finish for a while, then hand them back."""
        self.stopping = True
        self.wake.set()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=grace_seconds)
        unfinished = list(self.running)
        for execution in self.running.values():
            execution.cancel.set()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=10)
        await self.writer.close()
        if unfinished:
            n = await self.read(lambda s: queue.release_owned(s, self.owner, unfinished))
            log.info("handed %d unfinished plan(s) back to the queue", n)
        await self.read(lambda s: events.append(s, ev.OrchestratorStopped(owner=self.owner)))
        log.info("Test execution orchestrator stopped")


def _isolation(mode: str) -> tuple[str, str | None]:
    """The isolation jobs will get, or "unavailable" and why.

    The orchestrator runs either way: a plan must end (its runs in error, with
    the reason) rather than stay queued behind a sandbox that cannot start.
    """
    try:
        return resolve_isolation(mode), None
    except SandboxUnavailable as exc:
        return "unavailable", str(exc)
