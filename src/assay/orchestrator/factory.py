"""Builds the orchestrator a server runs, with the executor the settings choose."""

from __future__ import annotations

from assay.config import Settings
from assay.db.engine import Database
from assay.environments import EnvironmentPool
from assay.orchestrator.core import Orchestrator
from assay.orchestrator.executor import Executor, LocalExecutor
from assay.orchestrator.supervisor import Supervisor
from assay.runner.warm import WarmRunners


def make_executor(settings: Settings, pool: EnvironmentPool) -> Executor:
    if settings.executor == "celery":
        from assay.orchestrator.celery_executor import CeleryExecutor

        executor: Executor = CeleryExecutor(settings)
        return executor
    warm = WarmRunners(settings.workspaces_dir, enabled=settings.warm_runners)
    return LocalExecutor(settings.workers, pool, settings.workspaces_dir, warm)


def make_supervisor(settings: Settings, db: Database, pool: EnvironmentPool) -> Supervisor:
    """A supervisor that (re)starts orchestrators sharing one executor and one pool."""
    executor = make_executor(settings, pool)
    return Supervisor(lambda: Orchestrator(settings, db, executor, pool))
