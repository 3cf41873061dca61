"""Names of the Redis keys a job's two sides (orchestrator and worker) agree on.

Everything lives under one prefix (`ASSAY_REDIS_PREFIX`), so several installs or
test sessions can share a Redis without seeing each other's jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

DONE_TTL_S = 2 * 24 * 3600
"""How long a finished job is remembered: longer than any broker redelivery delay."""


@dataclass(frozen=True)
class JobKeys:
    prefix: str
    job_id: str

    @property
    def alive(self) -> str:
        """Refreshed by whichever delivery of the job is running; lapses when none is."""
        return f"{self.prefix}:job:{self.job_id}:alive"

    @property
    def cancel(self) -> str:
        """Set by the orchestrator: any delivery, running or still queued, stops."""
        return f"{self.prefix}:job:{self.job_id}:cancel"

    @property
    def done(self) -> str:
        """Set when the orchestrator has the outcome: late redeliveries skip the job."""
        return f"{self.prefix}:job:{self.job_id}:done"


def reply_stream(prefix: str, executor_id: str) -> str:
    """The stream one orchestrator reads every reply of its jobs from."""
    return f"{prefix}:replies:{executor_id}"


def executor_alive(prefix: str, executor_id: str) -> str:
    """Kept by a live orchestrator; a worker whose orchestrator is gone stops the job."""
    return f"{prefix}:executor:{executor_id}:alive"


def events_channel(prefix: str) -> str:
    """Pub/sub channel committed events cross servers on."""
    return f"{prefix}:events"
