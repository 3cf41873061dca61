"""What a job is, and what running it reports: plain JSON-safe dataclasses.

A job crosses process and machine boundaries (Celery), so everything here
round-trips through `to_dict`/`from_dict` with paths as strings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assay.sandbox import Limits

OUTCOMES = ("passed", "failed", "error", "skipped")


@dataclass
class JobItem:
    """One test case: its own pytest module (`code`) or a node id in the project (`reference`)."""

    key: str
    kind: str
    code: str | None = None
    nodeid: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "code" and self.code is None:
            raise ValueError(f"code item {self.key!r} has no code")
        if self.kind == "reference" and not self.nodeid:
            raise ValueError(f"reference item {self.key!r} has no node id")
        if self.kind not in ("code", "reference"):
            raise ValueError(f"item {self.key!r}: unknown kind {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Job:
    """A batch of test cases run by one pytest process in one scratch workspace."""

    job_id: str
    items: list[JobItem]
    python: Path
    snapshot_dir: Path | None
    workspaces_dir: Path
    limits: Limits
    test_timeout_s: float = 60.0
    isolation: str = "auto"
    install_dir: Path | None = None
    """Where the project's install for this snapshot is cached; None: not installed."""
    test_env: dict[str, str] = field(default_factory=dict)
    pytest_args: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "install_dir": str(self.install_dir) if self.install_dir else None,
            "test_env": self.test_env,
            "pytest_args": self.pytest_args,
            "job_id": self.job_id,
            "items": [item.to_dict() for item in self.items],
            "python": str(self.python),
            "snapshot_dir": str(self.snapshot_dir) if self.snapshot_dir else None,
            "workspaces_dir": str(self.workspaces_dir),
            "limits": self.limits.to_dict(),
            "test_timeout_s": self.test_timeout_s,
            "isolation": self.isolation,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        return cls(
            job_id=d["job_id"],
            items=[JobItem(**item) for item in d["items"]],
            python=Path(d["python"]),
            snapshot_dir=Path(d["snapshot_dir"]) if d.get("snapshot_dir") else None,
            workspaces_dir=Path(d["workspaces_dir"]),
            limits=Limits.from_dict(d["limits"]),
            test_timeout_s=float(d.get("test_timeout_s", 60.0)),
            isolation=d.get("isolation", "auto"),
            install_dir=Path(d["install_dir"]) if d.get("install_dir") else None,
            test_env=dict(d.get("test_env") or {}),
            pytest_args=list(d.get("pytest_args") or []),
        )


@dataclass
class ItemStarted:
    """The first pytest node of an item began (nodeid is None when it never ran)."""

    key: str
    nodeid: str | None
    type: str = field(default="item_started", init=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ItemFinished:
    """An item's final result, aggregated over its pytest nodes.

    `tests` holds one dict per node: nodeid, outcome, duration_s, failure (and
    reason for skips). Outcome: error if any node errored or the item could not
    be collected/run, else failed if any failed, else passed if any passed, else skipped.
    """

    key: str
    outcome: str
    duration_s: float
    failure: str | None
    output: str
    tests: list[dict[str, Any]]
    type: str = field(default="item_finished", init=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class JobOutcome:
    """How the job as a whole went (per-item results arrive as events)."""

    isolation: str
    exit_code: int | None
    timed_out: bool
    cancelled: bool
    duration_s: float
    stderr_tail: str
    items_reported: int
    invocations: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
