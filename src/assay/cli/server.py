"""`assay serve` and `assay migrate`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str | None = typer.Option(None, help="Bind address (ASSAY_HOST)."),
        port: int | None = typer.Option(None, help="Port (ASSAY_PORT)."),
    ) -> None:
        """Start the API server, the dashboard and the orchestrator."""
        import uvicorn

        from assay import logs
        from assay.api.app import create_app
        from assay.cli.stopping_server import StoppingServer
        from assay.config import get_settings

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
        from assay.config import get_settings
        from assay.db.migrate import upgrade

        settings = get_settings()
        settings.ensure_data_dir()
        upgrade(settings.resolved_database_url)
        typer.echo("database is at the latest schema")
