"""`assay` starts without the server's modules: a CI job pays its start-up on every call."""

from __future__ import annotations

import subprocess
import sys

SERVER_MODULES = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "celery", "pydantic_settings")


def test_importing_the_cli_loads_none_of_the_servers_modules() -> None:
    probe = (
        "import sys, assay.cli\n"
        f"print(' '.join(m for m in {SERVER_MODULES!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == [], f"`import assay.cli` imports {loaded}: import them in the command"


def test_commands_that_import_lazily_still_show_their_options() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "assay", "user", "create", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--role" in shown and "viewer" in shown
    listed = subprocess.run(
        [sys.executable, "-m", "assay", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("serve", "migrate", "worker", "run", "user", "token", "project"):
        assert command in listed
