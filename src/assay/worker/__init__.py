"""Celery workers: run jobs sent by orchestrators, with no database credentials.

`celery -A assay.worker worker` (or `assay worker`) finds the application as
`assay.worker.app`, built on first use from the `ASSAY_*` settings, so merely
importing this package (the server does, for key names) starts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery

_app: Celery | None = None


def get_app() -> Celery:
    """The worker's Celery app, with the `assay.run_job` task registered."""
    global _app
    if _app is None:
        from assay.worker.celery_app import TASK_NAME, make_celery
        from assay.worker.task import run_job_task, worker_settings

        app = make_celery(worker_settings())
        app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)(
            run_job_task
        )
        _app = app
    return _app


def __getattr__(name: str) -> Any:
    if name == "app":
        return get_app()
    raise AttributeError(name)
