"""Metrics: the seed's JSON endpoint and a Prometheus text endpoint.

Readable without a token (dashboards and scrapers) unless ASSAY_PUBLIC_METRICS=false.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from assay.api.deps import Ctx, current_user, get_context, oauth2_scheme
from assay.api.errors import errors
from assay.api.routes.execution import metrics_snapshot
from assay.api.schemas.system import MetricsOut


def metrics_access(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)],
                   background: BackgroundTasks) -> None:
    ctx = get_context(request)
    if ctx.settings.public_metrics:
        return
    current_user(ctx, token, background)


router = APIRouter(tags=["metrics"])


PRIVATE = errors({401: "Not authenticated, and ASSAY_PUBLIC_METRICS is false."})


@router.get(
    "/execution/metrics",
    response_model=MetricsOut,
    dependencies=[Depends(metrics_access)],
    responses=PRIVATE,
)
async def execution_metrics(ctx: Ctx) -> MetricsOut:
    """Queue depth, results, workers and dispatch latency, as the seed's dashboard reads."""
    return await asyncio.to_thread(metrics_snapshot, ctx)


prometheus = APIRouter(tags=["metrics"])

GAUGES = {
    "queued_tests": "Test runs waiting to be dispatched",
    "running_tests": "Test runs executing now",
    "queued_plans": "Execution plans waiting",
    "running_plans": "Execution plans executing now",
    "workers_busy": "Executor slots in use",
    "workers_total": "Executor slots",
    "uptime_s": "Seconds since the orchestrator started",
    "restarts": "Orchestrator restarts (crashes and admin restarts)",
}


@prometheus.get(
    "/metrics",
    response_class=Response,  # its errors are JSON, as every error
    dependencies=[Depends(metrics_access)],
    responses={
        200: {"description": "Prometheus' text exposition format.",
              "content": {"text/plain": {"schema": {"type": "string"}}}},
        **PRIVATE,
    },
)
async def prometheus_metrics(ctx: Ctx) -> Response:
    m = (await asyncio.to_thread(metrics_snapshot, ctx)).model_dump()
    lines: list[str] = []
    for key, help_ in GAUGES.items():
        lines += [
            f"# HELP assay_{key} {help_}",
            f"# TYPE assay_{key} gauge",
            f"assay_{key} {m[key]}",
        ]
    lines += [
        "# HELP assay_test_results_total Finished test runs by outcome",
        "# TYPE assay_test_results_total counter",
    ]
    for outcome in ("passed", "failed", "errored", "skipped", "cancelled"):
        lines.append(f'assay_test_results_total{{outcome="{outcome}"}} {m[outcome]}')
    lines += [
        "# HELP assay_orchestrator_up 1 when the orchestrator is healthy",
        "# TYPE assay_orchestrator_up gauge",
        f"assay_orchestrator_up {1 if m['orchestrator_status'] == 'healthy' else 0}",
    ]
    lat = m["dispatch_latency_ms"]
    lines += [
        "# HELP assay_dispatch_latency_ms Plan created to job started",
        "# TYPE assay_dispatch_latency_ms summary",
    ]
    for q, key in (("0.5", "p50"), ("0.99", "p99")):
        if lat.get(key) is not None:
            lines.append(f'assay_dispatch_latency_ms{{quantile="{q}"}} {lat[key]}')
    return PlainTextResponse("\n".join(lines) + "\n")
