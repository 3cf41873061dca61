"""`GET /api/v1/workers`: who runs jobs — Celery workers seen, or this server's slots."""

from __future__ import annotations

import socket
from typing import Any

from fastapi import APIRouter

from assay.api.context import AppContext
from assay.api.deps import Ctx, Viewer
from assay.api.scaleout import MONITOR

router = APIRouter(prefix="/workers", tags=["workers"])


@router.get("")
def list_workers(_: Viewer, ctx: Ctx) -> dict[str, Any]:
    """Name, concurrency, busy processes and last heartbeat of every worker (cached)."""
    monitor = ctx.extras.get(MONITOR)
    if monitor is not None:
        workers = monitor.workers()
    else:
        orch = ctx.supervisor.orchestrator if ctx.supervisor else None
        workers = [
            {
                "name": f"local@{socket.gethostname()}",
                "concurrency": orch.executor.slots if orch else ctx.settings.workers,
                "busy": orch.busy if orch else 0,
                "processed": None,
                "last_heartbeat": orch.last_heartbeat.isoformat()
                if orch and orch.last_heartbeat
                else None,
                "online": orch is not None,
            }
        ]
    return {"executor": ctx.settings.executor, "workers": workers}


def celery_totals(ctx: AppContext) -> tuple[int, int] | None:
    """(busy, total) processes of the Celery workers online, for the metrics; None locally."""
    monitor = ctx.extras.get(MONITOR)
    return monitor.totals() if monitor is not None else None
