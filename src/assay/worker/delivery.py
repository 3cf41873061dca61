"""One delivery of a job on a worker: fetch, lease, run, and report through Redis.

A job may be delivered more than once (a worker died, the orchestrator re-sent a
silent job). Each delivery is harmless to repeat: the orchestrator records a
test's result only while that test is still open in that attempt, and a delivery
that finds the job already done does nothing.

Replies go to the dispatching orchestrator's stream, in order: `started`, item
events, then `outcome` (or `env_error` / `error`). While it runs, the delivery
refreshes the job's `alive` key; when that key lapses the orchestrator knows the
job lost its worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from dataclasses import dataclass
from typing import Any

import redis

from assay.config import Settings
from assay.contracts import replies
from assay.contracts.jobs import ItemFinished, ItemStarted, JobOutcome, JobSpec
from assay.contracts.replies import Reply
from assay.environments import EnvironmentBuildError, EnvironmentPool
from assay.runner import job_for, run_job
from assay.runner.warm import WarmRunners
from assay.worker.keys import JobKeys, executor_alive
from assay.worker.snapshots import ensure_snapshot

log = logging.getLogger("assay.worker")

STREAM_MAXLEN = 200_000
ALIVE_BEATS = 5
"""The alive key outlives this many missed beats."""


class Requeue(Exception):
    """The worker is shutting down under this job: hand it back to the broker."""


@dataclass
class DeliveryInfo:
    task_id: str
    redelivered: bool


class Delivery:
    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        pool: EnvironmentPool,
        spec: JobSpec,
        info: DeliveryInfo,
        warm: WarmRunners | None = None,
    ) -> None:
        self.settings = settings
        self.warm = warm
        self.redis = client
        self.pool = pool
        self.spec = spec
        self.info = info
        self.keys = JobKeys(settings.redis_prefix, spec.job_id)
        self.stream = spec.delivery.reply_to or ""
        self.executor_id = spec.delivery.executor_id
        self.cancel = asyncio.Event()
        self.terminating = False

    # -- replies ------------------------------------------------------------------------
    def reply(self, reply: Reply) -> None:
        if not self.stream:
            return
        self.redis.xadd(
            self.stream,
            {"job": self.spec.job_id, "type": reply.type, "data": reply.model_dump_json()},
            maxlen=STREAM_MAXLEN,
            approximate=True,
        )

    async def on_event(self, event: ItemStarted | ItemFinished) -> None:
        if self.terminating and not self.redis.exists(self.keys.cancel):
            return  # stopped by a shutdown, not a cancel: the redelivery reports these
        self.reply(event)

    # -- the job ------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        if self.redis.exists(self.keys.done):
            log.info("job %s already done; skipping this delivery", self.spec.job_id)
            return {"skipped": "done"}
        self.reply(replies.Started(worker=socket.gethostname(), pid=os.getpid(),
                                   task_id=self.info.task_id,
                                   redelivered=self.info.redelivered))
        beat = asyncio.create_task(self._beat())
        restore = self._trap_sigterm()
        try:
            outcome = await self._execute()
        except EnvironmentBuildError as exc:
            self.reply(replies.EnvError(message=str(exc).split("\n", 1)[0],
                                        log_tail=exc.log_tail))
            return {"error": "environment"}
        except Exception as exc:
            log.exception("job %s failed on this worker", self.spec.job_id)
            self.reply(replies.Failed(message=f"{type(exc).__name__}: {exc}"))
            return {"error": str(exc)}
        finally:
            restore()
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        if self.terminating and not self.redis.exists(self.keys.cancel):
            raise Requeue(self.spec.job_id)
        self.reply(replies.Finished(outcome=outcome))
        return outcome.model_dump(mode="json")

    async def _execute(self) -> JobOutcome:
        settings = self.settings
        snapshot = await asyncio.to_thread(
            ensure_snapshot,
            self.spec.snapshot_hash,
            self.spec.delivery,
            settings.snapshots_dir,
            settings.worker_trust_local_snapshots,
        )
        async with self.pool.lease(self.spec.env_spec) as env:
            job = job_for(self.spec, env, snapshot, settings.workspaces_dir)
            return await run_job(job, self.on_event, self.cancel, self.warm)

    async def _beat(self) -> None:
        """Keep the job's alive key fresh; stop on cancel or when the orchestrator is gone."""
        every = self.settings.job_heartbeat_seconds
        ttl_ms = max(1000, int(every * ALIVE_BEATS * 1000))
        while True:
            try:
                pipe = self.redis.pipeline()
                pipe.set(self.keys.alive, self.info.task_id, px=ttl_ms)
                pipe.exists(self.keys.cancel)
                if self.executor_id:
                    pipe.exists(executor_alive(self.settings.redis_prefix, self.executor_id))
                found = await asyncio.to_thread(pipe.execute)
                cancelled = bool(found[1])
                orphaned = bool(self.executor_id) and not found[2]
                if cancelled or orphaned:
                    if orphaned and not cancelled:
                        log.warning("job %s: its orchestrator is gone; stopping", self.spec.job_id)
                    self.cancel.set()
            except redis.RedisError:
                log.exception("job %s: heartbeat failed", self.spec.job_id)
            await asyncio.sleep(every)

    def _trap_sigterm(self) -> Any:
        """SIGTERM (a revoke with terminate, or a worker's cold shutdown) stops the job's
        whole process tree through the runner, instead of killing only this process."""
        loop = asyncio.get_running_loop()

        def on_term() -> None:
            self.terminating = True
            self.cancel.set()

        previous = signal.getsignal(signal.SIGTERM)
        try:
            loop.add_signal_handler(signal.SIGTERM, on_term)
        except (ValueError, RuntimeError, NotImplementedError):
            return lambda: None  # not the main thread (a threads pool): revoke still works

        def restore() -> None:
            loop.remove_signal_handler(signal.SIGTERM)
            signal.signal(signal.SIGTERM, previous)

        return restore
