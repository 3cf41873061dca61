"""The Celery task: turns a JobSpec dict into one `Delivery` and runs it to the end.

Per worker process it keeps one Redis client and one environment pool (environments
are shared between the processes of a machine through file locks).
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

import redis
from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded

from assay.config import Settings
from assay.contracts import replies
from assay.contracts.jobs import JobSpec
from assay.environments import EnvironmentPool
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


def run_job_task(task: Task, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one delivery of a job; a worker shutdown mid-job requeues it."""
    job = JobSpec.model_validate(spec)
    request = task.request
    info = DeliveryInfo(
        task_id=str(request.id),
        redelivered=bool((request.delivery_info or {}).get("redelivered")),
    )
    delivery = Delivery(worker_settings(), redis_client(), environment_pool(), job, info)
    try:
        return asyncio.run(delivery.run())
    except Requeue as exc:
        raise Reject(f"worker stopping under job {exc}", requeue=True) from exc
    except SoftTimeLimitExceeded:
        log.error("job %s passed its soft time limit", job.job_id)
        delivery.reply(replies.Failed(message="the job passed the worker's time limit"))
        return {"error": "soft time limit"}
