"""What a server starts when it runs as one of many: Redis fan-out and a worker monitor.

Both are off on a laptop: the fan-out starts when `ASSAY_REDIS_URL` is set, the
Celery worker monitor when `ASSAY_EXECUTOR=celery`. The lifespan calls `start`
before the orchestrator (so its first wake-ups already cross servers) and the
returned `stop` after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from assay.api.context import AppContext

log = logging.getLogger("assay.server")

MONITOR = "worker_monitor"
FANOUT = "redis_fanout"


async def start(ctx: AppContext) -> Callable[[], Awaitable[None]]:
    settings = ctx.settings
    if settings.redis_url:
        from assay.events.redis_fanout import RedisFanout

        fanout = RedisFanout(ctx.bus, settings.redis_url, settings.redis_prefix)
        await fanout.start()
        ctx.extras[FANOUT] = fanout
        log.info("events fan out through Redis (server %s)", fanout.server_id[:8])
    if settings.executor == "celery":
        from assay.orchestrator.worker_monitor import WorkerMonitor
        from assay.worker.celery_app import make_celery

        monitor = WorkerMonitor(make_celery(settings))
        monitor.start()
        ctx.extras[MONITOR] = monitor

    async def stop() -> None:
        monitor = ctx.extras.pop(MONITOR, None)
        if monitor is not None:
            await asyncio.to_thread(monitor.stop)
        fanout = ctx.extras.pop(FANOUT, None)
        if fanout is not None:
            await fanout.stop()

    return stop
