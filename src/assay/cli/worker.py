"""`assay worker`: a Celery worker that runs Assay jobs on this machine."""

from __future__ import annotations

import os

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        concurrency: int | None = typer.Option(
            None, "--concurrency", "-c", help="Jobs at once (default: CPU count)."
        ),
        queues: str | None = typer.Option(
            None, "--queues", "-Q", help="Comma-separated queues (default ASSAY_CELERY_QUEUE)."
        ),
        name: str | None = typer.Option(
            None, "--name", "-n", help="Node name (default assay-<pid>@<host>)."
        ),
        loglevel: str = typer.Option("INFO", "--loglevel", "-l", help="Log level."),
    ) -> None:
        """Run jobs from the broker (ASSAY_BROKER_URL); needs no database credentials."""
        from assay import logs
        from assay.config import get_settings

        if os.environ.pop("ASSAY_DATABASE_URL", None):
            typer.echo("note: a worker never uses ASSAY_DATABASE_URL; it was dropped", err=True)
        settings = get_settings()
        logs.configure(settings.log_level)
        from assay.worker import get_app

        argv = [
            "worker",
            f"--loglevel={loglevel}",
            f"--queues={queues or settings.celery_queue}",
            f"--hostname={name or f'assay-{os.getpid()}@%h'}",
        ]
        if concurrency:
            argv.append(f"--concurrency={concurrency}")
        get_app().worker_main(argv)
