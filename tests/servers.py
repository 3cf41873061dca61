"""Real `assay serve` processes for tests that need a server to die or to be many."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`python -m assay serve` in a subprocess, with its log kept for failure messages."""

    def __init__(self, data_dir: Path, database_url: str, env_cache: Path,
                 admin_password: str, port: int | None = None, cwd: Path | None = None,
                 argv: list[str] | None = None, **env: str) -> None:
        # A given port lets a test start a new server where a dead one listened.
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"server-{self.port}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")},
            "ASSAY_DATA_DIR": str(data_dir),
            "ASSAY_DATABASE_URL": database_url,
            "ASSAY_ENV_CACHE_DIR": str(env_cache),
            "ASSAY_ADMIN_PASSWORD": admin_password,
            "ASSAY_SECRET_KEY": "server-process-test-secret-of-at-least-32-bytes",
            "ASSAY_PORT": str(self.port),
            **env,
        }
        self.cwd = cwd
        self.argv = argv or [sys.executable, "-m", "assay", "serve"]
        self.preexec: Any = None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> ServerProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=log, cwd=self.cwd,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=self.preexec,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def login(self, username: str, password: str) -> str:
        r = httpx.post(f"{self.url}/api/v1/auth/login",
                       json={"username": username, "password": password}, timeout=30)
        r.raise_for_status()
        return str(r.json()["access_token"])


def wait_final(api: httpx.Client, plan_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        plan = api.get(f"/execution/plans/{plan_id}").json()
        if plan["status"] in ("passed", "failed", "error", "cancelled"):
            return dict(plan)
        assert time.monotonic() < deadline, f"plan stuck: {plan['status']}"
        time.sleep(0.1)
