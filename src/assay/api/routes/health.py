"""Liveness and readiness: no authentication, cheap enough to poll."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from assay import __version__
from assay.api.deps import Ctx
from assay.api.schemas.system import HealthOut
from assay.sandbox.isolation import describe_isolation

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
def health(ctx: Ctx) -> dict[str, Any]:
    """`status` is "ok" when the database answers and the orchestrator runs.

    `sandbox` says which isolation tests get here, with a warning when it is the
    weak one and the reason when none can start (every run then ends in error).
    """
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database: dict[str, Any] = {"ok": True, "dialect": ctx.db.engine.dialect.name}
    except Exception as exc:  # the point of a health check is to report, not raise
        database = {"ok": False, "dialect": ctx.db.engine.dialect.name, "error": str(exc)[:200]}
    body: dict[str, Any] = {
        "version": __version__,
        "database": database,
        "sandbox": describe_isolation(ctx.settings.sandbox),
    }
    ok = database["ok"]
    if ctx.supervisor is not None:
        body["orchestrator"] = ctx.supervisor.snapshot(ctx.settings.heartbeat_seconds).health()
        ok = ok and body["orchestrator"]["running"]
    body["status"] = "ok" if ok else "degraded"
    return body
