"""A job and what running it reports: orchestrator <-> executor <-> Celery worker.

A `JobSpec` is self-contained (test code, the snapshot's content hash, the
environment's spec, limits) and holds no database handle, so the same spec runs
on this machine or on a worker elsewhere. Its per-item events and its outcome come
back through the executor's callback (local) or the reply stream (Celery).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, NotRequired

from pydantic import Field, model_validator
from typing_extensions import TypedDict

from assay.contracts.base import VERSION, Contract
from assay.environments.spec import EnvSpec
from assay.sandbox.limits import Limits

Outcome = Literal["passed", "failed", "error", "skipped"]


class JobItem(Contract):
    """One test case: its own pytest module (`code`) or a node id in the project."""

    key: str
    kind: Literal["code", "reference"]
    code: str | None = None
    nodeid: str | None = None

    @model_validator(mode="after")
    def _has_what_its_kind_needs(self) -> JobItem:
        if self.kind == "code" and self.code is None:
            raise ValueError(f"code item {self.key!r} has no code")
        if self.kind == "reference" and not self.nodeid:
            raise ValueError(f"reference item {self.key!r} has no node id")
        return self


class NodeResult(TypedDict):
    """One pytest node of an item; stored as the run's `details`."""

    nodeid: str
    outcome: Outcome
    duration_s: float
    failure: str | None
    reason: NotRequired[str]


class ItemStarted(Contract):
    """The first pytest node of an item began (nodeid is None when it never ran)."""

    type: Literal["item_started"] = "item_started"
    key: str
    nodeid: str | None


class ItemFinished(Contract):
    """An item's final result, aggregated over its pytest nodes.

    Outcome: error if any node errored or the item could not be collected or run,
    else failed if any failed, else passed if any passed, else skipped.
    """

    type: Literal["item_finished"] = "item_finished"
    key: str
    outcome: Outcome
    duration_s: float
    failure: str | None
    output: str
    tests: list[NodeResult]
    start: Literal["warm", "cold"] | None = None
    """How the pytest that ran it started: forked from a warm runner, or cold; None
    when no pytest ran it."""


ItemEvent = ItemStarted | ItemFinished


class JobOutcome(Contract):
    """How the job as a whole went (per-item results arrive as events)."""

    isolation: str
    exit_code: int | None
    timed_out: bool
    cancelled: bool
    duration_s: float
    stderr_tail: str
    items_reported: int
    invocations: int = 1
    start: Literal["warm", "cold"] = "cold"
    """warm when a pytest of the job was forked from the environment's warm runner."""
    start_note: str | None = None
    """Why the job (or part of it) ran cold."""
    warm_failed: bool = False
    """A warm start failed in this job: its runner is replaced before the next one."""


class Delivery(Contract):
    """Where a Celery worker finds the snapshot and sends its replies.

    Set by the Celery executor when it sends the job; empty for the local executor.
    """

    reply_to: str | None = None
    executor_id: str | None = None
    snapshot_path: str | None = None
    snapshot_url: str | None = None
    snapshot_token: str | None = None


class JobSpec(Contract):
    """Everything a worker needs to run one batch, and nothing it must not hold."""

    version: Literal[1] = VERSION
    job_id: str
    plan_id: str
    priority_rank: int
    items: list[JobItem]
    snapshot_hash: str
    env_spec: EnvSpec
    limits: Limits
    test_timeout_s: float
    isolation: str
    test_env: dict[str, str] = Field(default_factory=dict)
    """The project's environment variables for its tests."""
    pytest_args: list[str] = Field(default_factory=list)
    """The project's extra pytest arguments."""
    delivery: Delivery = Field(default_factory=Delivery)
    snapshot_dir: Path | None = Field(default=None, exclude=True)
    """The local executor's snapshot on this machine; never sent to a worker."""
