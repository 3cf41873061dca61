"""Settings: every knob is an `ASSAY_*` environment variable (or a line in `.env`).

Every default works on a laptop with nothing else installed: SQLite in the data
dir, local worker processes, the built-in generation engine.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The whole configuration of one Assay process."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".assay")
    database_url: str | None = None
    secret_key: str | None = None
    admin_password: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = 5 * 1024 * 1024
    access_token_minutes: int = 12 * 60
    public_metrics: bool = True
    log_level: str = "INFO"

    # Login throttling: this many failures inside the window lock the user/address out.
    login_max_failures: int = 5
    login_window_seconds: int = 300

    # Execution
    workers: int = Field(default_factory=lambda: os.cpu_count() or 2)
    max_attempts: int = 2
    lease_seconds: float = 30.0
    reconcile_seconds: float = 5.0
    # False falls back to dispatching on the reconcile pass alone, like the seed's
    # 5-second poll: only for comparison benchmarks and debugging.
    dispatch_wakeups: bool = True
    heartbeat_seconds: float = 2.0
    # The fewest tests a job holds; a plan is cut into about two jobs per executor slot
    # (see assay.orchestrator.batching).
    batch_size: int = 200
    sandbox: Literal["auto", "bwrap", "process"] = "auto"
    # Fork each job's pytest from a warm runner per environment (see assay.runner.warm);
    # false starts every pytest cold.
    warm_runners: bool = True
    test_timeout_seconds: float = 60.0
    job_timeout_seconds: float = 900.0
    # One sandboxed run of a generation (a probe, a candidate's validation run).
    generation_run_timeout_seconds: float = 120.0
    memory_limit_mb: int = 2048
    file_size_limit_mb: int = 256
    max_processes: int = 256
    output_limit_bytes: int = 64 * 1024
    env_cache_dir: Path | None = None
    # Workspaces and environments, when not in the data dir (see assay.sandbox.tree).
    sandbox_dir: Path | None = None

    # Scale-out
    executor: Literal["local", "celery"] = "local"
    broker_url: str = "redis://127.0.0.1:6379/0"
    redis_url: str | None = None
    # Namespace of every Redis key and channel Assay uses (several installs, one Redis).
    redis_prefix: str = "assay"
    # Celery queue the orchestrators send jobs to and workers consume.
    celery_queue: str = "assay"
    # Jobs one server keeps in flight on Celery (the broker orders them by priority).
    celery_slots: int = 32
    # How workers reach this server to fetch snapshots (default http://<host>:<port>).
    public_url: str | None = None
    # Lifetime of the job-scoped token a worker fetches a snapshot with.
    job_token_seconds: int = 3600
    # Redis broker: an unacknowledged job returns to the queue after this long.
    broker_visibility_timeout: int = 3600
    # Workers beat per job this often; a job silent for 5 beats is sent again.
    job_heartbeat_seconds: float = 1.0
    # Worker: use a snapshot directory named in the job when visible here (same machine).
    worker_trust_local_snapshots: bool = False

    @property
    def resolved_redis_url(self) -> str | None:
        """Redis for results, fan-out and wake-ups: ASSAY_REDIS_URL, else a redis:// broker."""
        if self.redis_url:
            return self.redis_url
        return self.broker_url if self.broker_url.startswith(("redis://", "rediss://")) else None

    # Generation
    llm_provider: Literal["openai", "anthropic"] = "openai"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = Field(default=None, repr=False)
    llm_timeout_seconds: float = 60.0

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assay.db').resolve()}"

    @property
    def run_root(self) -> Path:
        """What sandboxed tests reach: workspaces and environments (never the secrets)."""
        return (self.sandbox_dir or self.data_dir).resolve()

    @property
    def envs_dir(self) -> Path:
        return (self.env_cache_dir or self.run_root / "envs").resolve()

    @property
    def workspaces_dir(self) -> Path:
        return (self.run_root / "workspaces").resolve()

    @property
    def snapshots_dir(self) -> Path:
        return (self.data_dir / "snapshots").resolve()

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def resolved_secret_key(self) -> str:
        """The JWT signing key: configured, or generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        self.ensure_data_dir()
        path = self.data_dir / "secret-key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        self.secret_key = path.read_text().strip()
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own `Settings` and pass them in."""
    return Settings()
