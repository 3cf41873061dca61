"""One immutable picture of the orchestrator, taken at once, for whoever reports on it.

Health, metrics, the workers list and the orchestrator endpoints all describe the
same orchestrator; each reading its internals (which change while a plan runs, and
are replaced when it restarts) gave answers that disagreed with each other. They
read this snapshot instead, taken by `Supervisor.snapshot()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

State = Literal["healthy", "degraded", "stopped"]


@dataclass(frozen=True)
class OrchestratorStatus:
    state: State
    """healthy; degraded (running but not beating, or in back-off after a crash); stopped."""
    running: bool
    executor: str
    slots: int
    busy: int
    running_plans: int
    dispatch_latency_ms: dict[str, float | None]
    uptime_s: float
    """Since the supervisor started: a crash restart does not reset it, a stop does."""
    last_heartbeat: datetime | None
    restarts: int
    crashes: int
    last_crash: str | None
    isolation: str | None
    isolation_warning: str | None
    sandbox_error: str | None

    def health(self) -> dict[str, object]:
        """The health endpoint's `orchestrator` section."""
        return {
            "running": self.running,
            "last_heartbeat": self.last_heartbeat.isoformat() if self.last_heartbeat else None,
            "restarts": self.restarts,
            "crashes": self.crashes,
            "last_crash": self.last_crash,
        }
