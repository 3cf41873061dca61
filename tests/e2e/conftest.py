"""End-to-end fixtures: Debian's Chromium driven by Playwright against real servers.

The dashboard must be built first (`make dashboard`; `make test` does it). A missing
build fails these tests instead of skipping them, so a broken build is never green.
Chromium is the distribution's (`apt-get install chromium`), not a Playwright
download: `--browser-channel` cannot point at it, so the launch arguments are
overridden here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from assay.api.app import STATIC
from tests.conftest import ADMIN_PASSWORD
from tests.servers import ServerProcess

CHROMIUM = os.environ.get("ASSAY_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}


@pytest.fixture(autouse=True)
def _dashboard_built() -> None:
    index = STATIC / "index.html"
    scripts = list((STATIC / "assets").glob("*.js")) if (STATIC / "assets").is_dir() else []
    if not index.is_file() or not scripts:
        pytest.fail(
            f"The dashboard is not built ({index} or its assets are missing): "
            "run `make dashboard` (or `cd dashboard && npm ci && npm run build`) first.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` "
                    "(or set ASSAY_E2E_CHROMIUM).", pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # Fixed size, locale and zone: screenshots are comparable from run to run.
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "en-US",
            "timezone_id": "UTC", "reduced_motion": "reduce"}


ServerFactory = Callable[..., ServerProcess]


@pytest.fixture
def start_server(db_url: str, data_dir: Path, env_cache: Path,
                 page: Page) -> Iterator[ServerFactory]:
    """Start `assay serve` processes on this test's database; all are stopped at the end.

    One worker slot, so a plan queued behind another really waits (and "queued" is
    observable), and a short lease, so a killed server's plan is recovered quickly.
    """
    servers: list[ServerProcess] = []

    def start(port: int | None = None) -> ServerProcess:
        server = ServerProcess(data_dir, db_url, env_cache, ADMIN_PASSWORD, port=port,
                               ASSAY_WORKERS="1", ASSAY_LEASE_SECONDS="10")
        servers.append(server)
        return server.start()

    yield start
    # Leave the dashboard first, then stop every server this test started.
    with contextlib.suppress(Exception):
        page.goto("about:blank")
    for server in servers:
        stop_quickly(server)


def stop_quickly(server: ServerProcess, grace: float = 3.0) -> None:
    """SIGTERM; if the server is still draining after `grace`, a second signal ends it.

    A graceful stop used to wait out uvicorn's 15 s shutdown timeout for a WebSocket
    whose browser had gone (the handler noticed only at its next send). The server
    now closes its sockets on a stop signal; this stays as a bound on teardown time.
    By then nothing is running, so uvicorn's "second Ctrl+C" (force exit) loses nothing.
    """
    proc = server.proc
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # strays of its session, if any


@pytest.fixture
def server(start_server: ServerFactory) -> ServerProcess:
    return start_server()
