"""The Celery application both sides share: the same queue, priorities and delivery rules.

Orchestrators only send (`send_task` by name); workers run `assay.run_job`. Both
must declare the queue identically (RabbitMQ refuses a redeclaration with other
arguments), which is why there is one factory for the two.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from assay.config import Settings

TASK_NAME = "assay.run_job"
MAX_PRIORITY = 9
PRIORITY_STEP = 3
"""Plan priority ranks 0..3 (critical..low) spread over the broker's 0..9."""


def is_redis(broker_url: str) -> bool:
    return broker_url.startswith(("redis://", "rediss://", "unix://"))


def broker_priority(rank: int, broker_url: str) -> int:
    """The broker priority of a plan's rank (0 = critical).

    RabbitMQ delivers the highest number first; kombu's Redis transport polls its
    priority lists in ascending order, so there 0 comes first. Same order, either way.
    """
    value = min(max(rank, 0) * PRIORITY_STEP, MAX_PRIORITY)
    return value if is_redis(broker_url) else MAX_PRIORITY - value


def job_queue(name: str) -> Queue:
    return Queue(
        name,
        Exchange(name, type="direct"),
        routing_key=name,
        queue_arguments={"x-max-priority": MAX_PRIORITY + 1},  # RabbitMQ priority queue
    )


def make_celery(settings: Settings) -> Celery:
    app = Celery("assay", broker=settings.broker_url, set_as_current=False)
    queue = job_queue(settings.celery_queue)
    transport: dict[str, Any] = {}
    if is_redis(settings.broker_url):
        transport = {
            "priority_steps": list(range(MAX_PRIORITY + 1)),
            "sep": ":",
            "queue_order_strategy": "priority",
            # Only a worker killed with its whole machine leaves a job unacknowledged
            # this long; the orchestrator re-sends silent jobs much sooner.
            "visibility_timeout": settings.broker_visibility_timeout,
        }
    app.conf.update(
        task_queues=[queue],
        task_default_queue=settings.celery_queue,
        task_default_exchange=settings.celery_queue,
        task_default_routing_key=settings.celery_queue,
        task_queue_max_priority=MAX_PRIORITY + 1,
        task_default_priority=broker_priority(2, settings.broker_url),
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        # A job is acknowledged when it ends, and a worker process that dies mid-job
        # hands it back to the broker: another worker runs it again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # results flow back through Redis streams, not a backend
        task_serializer="json",
        accept_content=["json"],
        # Control (revoke, inspect) and monitoring events stay inside this queue's install.
        control_exchange=f"{settings.celery_queue}.control",
        event_exchange=f"{settings.celery_queue}.events",
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_heartbeat=10,
    )
    return app
