"""Client commands that talk to a running server over the REST API and WebSocket."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Commands (`assay run`, `assay generate`) are added by their issues."""
    del app
