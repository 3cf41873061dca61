"""The small vocabularies Assay stores as strings (portable across SQLite and PostgreSQL).

Outside `assay.db` so that the CLI can name them (`--role`) without importing SQLAlchemy.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    editor = "editor"
    viewer = "viewer"


class Priority(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"

    @property
    def rank(self) -> int:
        """Lower runs first: the queue orders by this rank, then by age."""
        return PRIORITY_RANK[self]


PRIORITY_RANK = {Priority.critical: 0, Priority.high: 1, Priority.medium: 2, Priority.low: 3}


class TestStatus(StrEnum):
    draft = "draft"
    active = "active"
    quarantined = "quarantined"
    archived = "archived"


class Origin(StrEnum):
    manual = "manual"
    ai = "ai"
    imported = "imported"


class PlanStatus(StrEnum):
    queued = "queued"
    running = "running"
    passed = "passed"
    failed = "failed"
    error = "error"
    cancelled = "cancelled"

    @property
    def final(self) -> bool:
        return self not in (PlanStatus.queued, PlanStatus.running)


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    passed = "passed"
    failed = "failed"
    error = "error"
    skipped = "skipped"
    cancelled = "cancelled"

    @property
    def final(self) -> bool:
        return self not in (RunStatus.queued, RunStatus.running)


class Trigger(StrEnum):
    """Where a plan came from: the API (a client that did not say), the dashboard, the
    CLI, a generation, a rerun, the seed's `/execution/start`, or a suite import."""

    api = "api"
    dashboard = "dashboard"
    start = "start"
    rerun = "rerun"
    cli = "cli"
    generation = "generation"
    import_ = "import"
