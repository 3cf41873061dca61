"""`GET /api/v1/workers`: who runs jobs — Celery workers seen, or this server's slots."""

from __future__ import annotations

import socket
from typing import Any

from fastapi import APIRouter

from assay.api.context import AppContext
from assay.api.deps import Ctx, Viewer
from assay.api.errors import ROLE, errors
from assay.api.scaleout import MONITOR
from assay.api.schemas.system import WorkersOut

router = APIRouter(prefix="/workers", tags=["workers"])


@router.get("", response_model=WorkersOut, responses=errors(*ROLE))
def list_workers(_: Viewer, ctx: Ctx) -> dict[str, Any]:
    """Name, concurrency, busy processes and last heartbeat of every worker (cached)."""
    monitor = ctx.extras.get(MONITOR)
    if monitor is not None:
        workers = monitor.workers()
    else:
        sup = ctx.supervisor
        now = sup.snapshot(ctx.settings.heartbeat_seconds) if sup else None
        online = now is not None and now.running
        workers = [
            {
                "name": f"local@{socket.gethostname()}",
                "concurrency": now.slots if online and now else ctx.settings.workers,
                "busy": now.busy if now else 0,
                "processed": None,
                "last_heartbeat": now.last_heartbeat.isoformat()
                if now and now.last_heartbeat
                else None,
                "online": online,
            }
        ]
    return {"executor": ctx.settings.executor, "workers": workers}


def celery_totals(ctx: AppContext) -> tuple[int, int] | None:
    """(busy, total) processes of the Celery workers online, for the metrics; None locally."""
    monitor = ctx.extras.get(MONITOR)
    return monitor.totals() if monitor is not None else None
