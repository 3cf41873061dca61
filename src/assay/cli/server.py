"""`assay serve` and `assay migrate`."""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType

import typer
import uvicorn

from assay.config import get_settings


class StoppingServer(uvicorn.Server):
    """uvicorn, telling open WebSockets to close as soon as a stop signal arrives.

    uvicorn waits for open connections before it runs the app's shutdown; live
    sockets would hold every stop for the whole graceful timeout.
    """

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.on_exit()
        super().handle_exit(sig, frame)


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str | None = typer.Option(None, help="Bind address (ASSAY_HOST)."),
        port: int | None = typer.Option(None, help="Port (ASSAY_PORT)."),
    ) -> None:
        """Start the API server, the dashboard and the orchestrator."""
        from assay import logs
        from assay.api.app import create_app

        settings = get_settings()
        logs.configure(settings.log_level)
        app = create_app(settings)
        config = uvicorn.Config(
            app,
            host=host or settings.host,
            port=port or settings.port,
            log_config=None,
            ws_ping_interval=20,
            timeout_graceful_shutdown=15,
        )
        StoppingServer(config, on_exit=app.state.ctx.bus.shutdown).run()

    @app.command()
    def migrate() -> None:
        """Apply database migrations (the server also does this on start)."""
        from assay.db.migrate import upgrade

        settings = get_settings()
        settings.ensure_data_dir()
        upgrade(settings.resolved_database_url)
        typer.echo("database is at the latest schema")
