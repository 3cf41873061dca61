"""CeleryExecutor: jobs run on Celery workers anywhere; results come back through Redis.

The orchestrator still owns everything durable: it claims the plan, gets each
job's result events from its reply stream (`job_replies`), and writes them with
the same idempotent writers the local executor uses. A worker only runs pytest.

Delivery is at-least-once, and every path that repeats a job is safe:
- a worker process killed mid-job: Celery (acks late, reject on worker lost)
  puts the job back on the broker and another process runs it;
- a whole worker machine gone (its job's `alive` key lapses): this executor sends
  the job again, because a Redis broker would only restore it after its
  visibility timeout;
- any repeat reports tests that are already recorded; those writes do not win
  (results are keyed by run id and attempt and accepted only while open).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from assay.config import Settings
from assay.contracts import replies
from assay.contracts.jobs import Delivery, ItemFinished, ItemStarted, JobOutcome, JobSpec
from assay.contracts.replies import Reply
from assay.environments import EnvironmentBuildError
from assay.orchestrator.executor import OnEvent
from assay.orchestrator.job_replies import ReplyReader
from assay.security.job_tokens import issue_snapshot_token
from assay.worker.celery_app import TASK_NAME, broker_priority, make_celery
from assay.worker.keys import DONE_TTL_S, JobKeys

log = logging.getLogger("assay.orchestrator")

SOFT_LIMIT_MARGIN_S = 30.0
HARD_LIMIT_MARGIN_S = 60.0
CANCEL_GRACE_S = 10.0
MAX_RESENDS = 3
LAPSED_CHECKS = 2
"""Consecutive heartbeat checks without an `alive` key before the job is sent again."""


class WorkerLostError(RuntimeError):
    """A job's worker vanished more often than we are willing to send it again."""


class CeleryExecutor:
    name = "celery"

    def __init__(self, settings: Settings) -> None:
        url = settings.resolved_redis_url
        if not url:
            raise RuntimeError(
                "ASSAY_EXECUTOR=celery needs Redis for job results: set ASSAY_REDIS_URL "
                "(a redis:// ASSAY_BROKER_URL is used when it is not set)"
            )
        self.settings = settings
        self.slots = max(1, settings.celery_slots)
        self.app = make_celery(settings)
        self.executor_id = uuid.uuid4().hex[:16]
        self.redis = aioredis.Redis.from_url(url)
        self.replies = ReplyReader(self.redis, settings.redis_prefix, self.executor_id)

    # -- Executor protocol ------------------------------------------------------------
    async def run(self, spec: JobSpec, on_event: OnEvent, cancel: asyncio.Event) -> JobOutcome:
        await self.replies.start()
        inbox = self.replies.open(spec.job_id)
        keys = JobKeys(self.settings.redis_prefix, spec.job_id)
        try:
            return await _JobWatch(self, spec, keys, inbox, on_event, cancel).run()
        finally:
            self.replies.close_inbox(spec.job_id)
            with contextlib.suppress(Exception):
                await self.redis.set(keys.done, "1", ex=DONE_TTL_S)

    async def close(self) -> None:
        await self.replies.close()
        with contextlib.suppress(Exception):
            await self.redis.aclose()  # type: ignore[attr-defined]
        await asyncio.to_thread(self.app.close)

    # -- broker ----------------------------------------------------------------------
    def delivery(self, spec: JobSpec) -> Delivery:
        """What a worker needs beyond the spec: where to fetch, and where to reply."""
        settings = self.settings
        token = issue_snapshot_token(
            spec.snapshot_hash, settings.resolved_secret_key(), settings.job_token_seconds
        )
        return Delivery(
            snapshot_url=f"{public_url(settings)}/api/v1/snapshots/{spec.snapshot_hash}",
            snapshot_token=token,
            snapshot_path=str(spec.snapshot_dir) if spec.snapshot_dir else None,
            reply_to=self.replies.stream,
            executor_id=self.executor_id,
        )

    async def send(self, spec: JobSpec, delivery: int) -> str:
        spec = spec.model_copy(update={"delivery": self.delivery(spec)})
        task_id = f"{spec.job_id}:{delivery}"
        wall = spec.limits.wall_seconds
        await asyncio.to_thread(
            self.app.send_task,
            TASK_NAME,
            args=[spec.model_dump(mode="json")],
            task_id=task_id,
            queue=self.settings.celery_queue,
            priority=broker_priority(spec.priority_rank, self.settings.broker_url),
            soft_time_limit=wall + SOFT_LIMIT_MARGIN_S,
            time_limit=wall + HARD_LIMIT_MARGIN_S,
        )
        return task_id

    async def revoke(self, keys: JobKeys, task_ids: list[str]) -> None:
        """Stop every delivery: the key reaches queued and running ones, the revoke
        terminates a running one at once (the worker kills the job's process tree)."""
        await self.redis.set(keys.cancel, "1", ex=DONE_TTL_S)
        await asyncio.to_thread(
            self.app.control.revoke, task_ids, terminate=True, signal="SIGTERM"
        )


class _JobWatch:
    """Following one job from send to outcome: replies, liveness, cancel."""

    def __init__(
        self,
        executor: CeleryExecutor,
        spec: JobSpec,
        keys: JobKeys,
        inbox: asyncio.Queue[Reply],
        on_event: OnEvent,
        cancel: asyncio.Event,
    ) -> None:
        self.ex = executor
        self.spec = spec
        self.keys = keys
        self.inbox = inbox
        self.on_event = on_event
        self.cancel = cancel
        self.task_ids: list[str] = []
        self.started_at: float | None = None
        self.lapsed = 0
        self.cancelled_at: float | None = None
        self.hard_limit = spec.limits.wall_seconds + HARD_LIMIT_MARGIN_S

    async def run(self) -> JobOutcome:
        self.task_ids.append(await self.ex.send(self.spec, 0))
        tick = max(0.2, self.ex.settings.job_heartbeat_seconds)
        while True:
            reply = await self._next(tick)
            if reply is not None:
                outcome = await self._handle(reply)
                if outcome is not None:
                    return outcome
                if self.cancel.is_set() and self.cancelled_at is None:
                    # A worker that reports without pause leaves no quiet tick to
                    # notice the cancel in: revoke it now.
                    done = await self._on_cancel()
                    if done is not None:
                        return done
                continue
            if self.cancel.is_set():
                done = await self._on_cancel()
                if done is not None:
                    return done
            elif self.started_at is not None:
                await self._check_alive()

    async def _next(self, wait_s: float) -> Reply | None:
        """The next reply, or None after `wait_s` or as soon as cancel is set."""
        if not self.inbox.empty():
            return self.inbox.get_nowait()
        if self.cancel.is_set():
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(self.inbox.get(), timeout=0.2)
            return None
        getter = asyncio.ensure_future(self.inbox.get())
        waiter = asyncio.ensure_future(self.cancel.wait())
        done, _ = await asyncio.wait({getter, waiter}, timeout=wait_s,
                                     return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await getter
        return None

    async def _handle(self, reply: Reply) -> JobOutcome | None:
        if isinstance(reply, replies.Started):
            self.started_at = time.monotonic()
            self.lapsed = 0
            if reply.redelivered or len(self.task_ids) > 1:
                log.info("job %s (re)started on %s pid %s", self.spec.job_id,
                         reply.worker, reply.pid)
        elif isinstance(reply, ItemStarted | ItemFinished):
            await self.on_event(reply)
        elif isinstance(reply, replies.Finished):
            return reply.outcome
        elif isinstance(reply, replies.EnvError):
            raise EnvironmentBuildError(reply.message, reply.log_tail)
        elif isinstance(reply, replies.Failed):
            raise RuntimeError(f"the worker could not run the job: {reply.message}")
        return None

    async def _on_cancel(self) -> JobOutcome | None:
        now = time.monotonic()
        if self.cancelled_at is None:
            self.cancelled_at = now
            await self.ex.revoke(self.keys, self.task_ids)
        if self.started_at is None or now - self.cancelled_at > CANCEL_GRACE_S:
            # Never started (or the worker did not answer): nothing more will be reported.
            return JobOutcome(isolation=self.spec.isolation, exit_code=None, timed_out=False,
                              cancelled=True, duration_s=0.0, stderr_tail="",
                              items_reported=0, invocations=0)
        return None

    async def _check_alive(self) -> None:
        assert self.started_at is not None
        if time.monotonic() - self.started_at > self.hard_limit:
            raise TimeoutError(
                f"the job outlived its {self.hard_limit:g}s hard time limit on the worker"
            )
        if await self.ex.redis.exists(self.keys.alive):
            self.lapsed = 0
            return
        self.lapsed += 1
        if self.lapsed < LAPSED_CHECKS:
            return
        if len(self.task_ids) > MAX_RESENDS:
            raise WorkerLostError(
                f"the job lost its worker {len(self.task_ids)} times; giving up"
            )
        log.warning("job %s: its worker stopped answering; sending it again", self.spec.job_id)
        self.started_at = None
        self.lapsed = 0
        self.task_ids.append(await self.ex.send(self.spec, len(self.task_ids)))


def public_url(settings: Any) -> str:
    """The base URL workers reach this server at."""
    if settings.public_url:
        return str(settings.public_url).rstrip("/")
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    return f"http://{host}:{settings.port}"
