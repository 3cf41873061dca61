"""Schemas for execution plans, runs, and the orchestrator's controls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from assay.api.schemas.base import RequestModel, one_of
from assay.api.schemas.system import OrchestratorState
from assay.db.models import Origin, PlanStatus, Priority, RunStatus, TestStatus, Trigger


class Selection(RequestModel):
    """Pick test cases by their fields; every given field must match."""

    tags: list[str] = Field(default_factory=list, max_length=50)
    status: list[TestStatus] = Field(default_factory=lambda: [TestStatus.active])
    priority: list[Priority] = Field(default_factory=list)
    origin: list[Origin] = Field(default_factory=list)


class PlanCreate(RequestModel):
    """A plan of the given test cases, or of those a selection matches (one of the two)."""

    model_config = ConfigDict(json_schema_extra=one_of("test_case_ids", "selection"))

    project_id: str = Field(min_length=1, max_length=32)
    test_case_ids: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
    selection: Selection | None = None
    priority: Priority = Priority.medium
    name: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _one_way(self) -> PlanCreate:
        if (self.test_case_ids is None) == (self.selection is None):
            raise ValueError("give exactly one of 'test_case_ids' or 'selection'")
        return self


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    test_case_id: str | None
    name: str
    status: RunStatus
    attempt: int
    duration_s: float | None
    output: str | None
    failure: str | None
    isolation: str | None
    start: str | None = None
    """warm (pytest forked from the environment's warm runner) or cold."""
    details: list[dict[str, Any]] | None
    started_at: datetime | None
    finished_at: datetime | None


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    project_id: str
    name: str
    priority: Priority
    status: PlanStatus
    trigger: Trigger
    snapshot_hash: str | None
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    error: str | None
    source_plan_id: str | None
    counts: dict[str, int] = Field(default_factory=dict)
    total: int = Field(default=0, description="The plan's runs, all of them (sum of `counts`).")


class PlanDetail(PlanOut):
    """A plan with its first runs inline; `GET /execution/plans/{id}/runs` pages them all.

    `runs` holds at most the first 100 in plan order. When `total` is larger,
    `runs_next_cursor` is the `cursor` of the next page of `/runs` (or use `offset`).
    """

    runs: list[RunOut] = Field(
        default_factory=list, description="The first runs in plan order (at most 100)."
    )
    runs_next_cursor: str | None = Field(
        default=None, description="`cursor` for `GET /execution/plans/{id}/runs` after `runs`."
    )


class RerunRequest(RequestModel):
    failed_only: StrictBool = False
    priority: Priority | None = None


class QueueOut(BaseModel):
    queued_plans: int
    running_plans: int
    queued_tests: int
    running_tests: int


class StartResponse(BaseModel):
    plan: PlanOut
    orchestrator: OrchestratorState


class PollResponse(BaseModel):
    detected_plans: list[str]
    recovered: list[dict[str, Any]] = Field(default_factory=list)
    queue: QueueOut
