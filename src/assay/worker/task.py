"""The Celery task: turns a JobSpec dict into one `Delivery` and runs it to the end.

Per worker process it keeps one Redis client and one environment pool (environments
are shared between the processes of a machine through file locks), and per worker
thread one event loop with the warm runners of the environments it has used.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded

from assay.config import Settings
from assay.contracts import replies
from assay.contracts.jobs import JobSpec
from assay.environments import EnvironmentPool
from assay.runner.warm import WarmRunners
from assay.sandbox.tree import run_root_for
from assay.worker.delivery import Delivery, DeliveryInfo, Requeue

log = logging.getLogger("assay.worker")


@lru_cache
def worker_settings() -> Settings:
    settings = Settings()
    settings.sandbox_dir = run_root_for(settings.data_dir, settings.sandbox, settings.sandbox_dir)
    return settings


@lru_cache
def redis_client() -> redis.Redis:
    url = worker_settings().resolved_redis_url
    if not url:
        raise RuntimeError(
            "a worker reports through Redis: set ASSAY_REDIS_URL (or use a redis:// broker)"
        )
    return redis.Redis.from_url(url)


@lru_cache
def environment_pool() -> EnvironmentPool:
    return EnvironmentPool(worker_settings().envs_dir)


@dataclass
class _Runtime:
    """One event loop and its warm runners, kept across the jobs of one worker thread.

    Celery runs a process's jobs one after another (prefork: on the main thread);
    the warm runners a job started stay alive for the next ones, on this loop.
    """

    loop: asyncio.AbstractEventLoop
    warm: WarmRunners


_local = threading.local()


def runtime() -> _Runtime:
    found: _Runtime | None = getattr(_local, "runtime", None)
    if found is None:
        settings = worker_settings()
        found = _Runtime(asyncio.new_event_loop(),
                         WarmRunners(settings.workspaces_dir, enabled=settings.warm_runners))
        _local.runtime = found
    return found


def run_job_task(task: Task, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one delivery of a job; a worker shutdown mid-job requeues it."""
    job = JobSpec.model_validate(spec)
    request = task.request
    info = DeliveryInfo(
        task_id=str(request.id),
        redelivered=bool((request.delivery_info or {}).get("redelivered")),
    )
    here = runtime()
    delivery = Delivery(worker_settings(), redis_client(), environment_pool(), job, info,
                        here.warm)
    try:
        return here.loop.run_until_complete(delivery.run())
    except Requeue as exc:
        raise Reject(f"worker stopping under job {exc}", requeue=True) from exc
    except SoftTimeLimitExceeded:
        log.error("job %s passed its soft time limit", job.job_id)
        delivery.reply(replies.Failed(message="the job passed the worker's time limit"))
        return {"error": "soft time limit"}
