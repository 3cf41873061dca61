"""Schemas for the server's own state: health, metrics, workers and the orchestrator."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DatabaseHealth(BaseModel):
    ok: bool
    dialect: str
    error: str | None = Field(default=None, description="Why the database did not answer.")


class SandboxHealth(BaseModel):
    configured: str | None = Field(description="`ASSAY_SANDBOX` as set.")
    isolation: str | None = Field(description="What runs get here, or `unavailable`.")
    warning: str | None = None
    error: str | None = Field(default=None, description="Why no sandbox can start here.")


class OrchestratorHealth(BaseModel):
    running: bool
    last_heartbeat: str | None
    restarts: int
    crashes: int
    last_crash: str | None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: DatabaseHealth
    sandbox: SandboxHealth
    orchestrator: OrchestratorHealth | None = Field(
        default=None, description="Absent when this server runs without an orchestrator."
    )


class OrchestratorState(BaseModel):
    status: Literal["healthy", "degraded", "stopped"]
    running: bool
    last_heartbeat: str | None = None
    restarts: int | None = None
    crashes: int | None = None
    last_crash: str | None = None


class RestartResponse(BaseModel):
    restarted: bool
    orchestrator: OrchestratorState


class Latency(BaseModel):
    p50: float | None
    p99: float | None
    samples: float | None = None


class MetricsOut(BaseModel):
    orchestrator_status: Literal["healthy", "degraded", "stopped"]
    queued_tests: int
    running_tests: int
    completed_tests: int
    passed: int
    failed: int
    errored: int
    skipped: int
    cancelled: int
    queued_plans: int
    running_plans: int
    workers_busy: int
    workers_total: int
    dispatch_latency_ms: Latency
    uptime_s: float
    last_heartbeat: str | None
    restarts: int


class WorkerOut(BaseModel):
    name: str
    concurrency: int | None
    busy: int
    processed: int | None
    last_heartbeat: str | None
    online: bool


class WorkersOut(BaseModel):
    executor: str = Field(description="`local` (this server's slots) or `celery`.")
    workers: list[WorkerOut]
