"""Builds the orchestrator a server runs, with the executor the settings choose."""

from __future__ import annotations

from assay.api.context import AppContext
from assay.environments import EnvironmentPool
from assay.orchestrator.core import Orchestrator
from assay.orchestrator.executor import Executor, LocalExecutor
from assay.orchestrator.supervisor import Supervisor


def make_executor(ctx: AppContext, pool: EnvironmentPool) -> Executor:
    if ctx.settings.executor == "celery":
        from assay.orchestrator.celery_executor import CeleryExecutor

        executor: Executor = CeleryExecutor(ctx)
        return executor
    return LocalExecutor(ctx.settings.workers, pool, ctx.settings.workspaces_dir)


def make_supervisor(ctx: AppContext) -> Supervisor:
    pool = ctx.pool
    executor = make_executor(ctx, pool)
    return Supervisor(lambda: Orchestrator(ctx, executor, pool))
