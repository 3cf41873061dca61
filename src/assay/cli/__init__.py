"""The `assay` command line: server administration and a client for the REST API."""

from __future__ import annotations

import typer

from assay.cli import admin, client, generate, server, worker
from assay.cli.project import project_app

app = typer.Typer(
    help="Assay: a self-hosted test platform for Python projects.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
server.register(app)
app.add_typer(admin.users, name="user")
app.add_typer(admin.tokens, name="token")
app.add_typer(project_app, name="project")
client.register(app)
generate.register(app)
worker.register(app)


def main() -> None:
    app()
