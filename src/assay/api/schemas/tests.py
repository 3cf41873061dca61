"""Schemas for test cases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from assay.api.schemas.base import INT32_MAX, Integer, RequestModel, not_null, one_of
from assay.db.models import Origin, PlanStatus, Priority, RunStatus, TestStatus, Trigger

MAX_CODE = 200_000
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.:/-]+$"),
]


def _clean_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


class TestCaseBase(RequestModel):
    __test__ = False

    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    code: str | None = Field(
        default=None, max_length=MAX_CODE, description="A pytest module's source."
    )
    reference: str | None = Field(
        default=None, max_length=1000, description="A pytest node id in the project's own tree."
    )
    priority: Priority = Priority.medium
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    status: TestStatus = TestStatus.active
    target: str | None = Field(default=None, max_length=500, pattern=r"^[\w.]+:[\w.]+$")

    _tags = field_validator("tags")(_clean_tags)


class TestCaseCreate(TestCaseBase):
    """A test case: its own `code`, or a `reference` into the project's tree (one of them)."""

    __test__ = False
    model_config = ConfigDict(json_schema_extra=one_of("code", "reference"))

    project_id: str = Field(min_length=1, max_length=32)
    origin: Origin = Origin.manual

    @model_validator(mode="after")
    def _code_or_reference(self) -> TestCaseCreate:
        if (self.code is None) == (self.reference is None):
            raise ValueError("give exactly one of 'code' (test source) or 'reference' (node id)")
        return self


class TestCaseUpdate(RequestModel):
    __test__ = False

    version: Integer = Field(
        ge=1,
        le=INT32_MAX,
        description="The version you edited; a stale one answers 409.",
    )
    # Left out means "keep"; these four cannot be null (the others can: "clear it").
    title: str | None = Field(
        default=None, min_length=1, max_length=300, json_schema_extra=not_null
    )
    description: str | None = Field(default=None, max_length=20_000, json_schema_extra=not_null)
    code: str | None = Field(
        default=None,
        max_length=MAX_CODE,
        description="A pytest module's source; the case keeps exactly one of it or `reference`.",
    )
    reference: str | None = Field(default=None, max_length=1000)
    priority: Priority | None = Field(default=None, json_schema_extra=not_null)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    status: TestStatus | None = Field(default=None, json_schema_extra=not_null)
    target: str | None = Field(default=None, max_length=500, pattern=r"^[\w.]+:[\w.]+$")

    _tags = field_validator("tags")(_clean_tags)


class LastRun(BaseModel):
    """A test case's latest finished run (passed, failed, error or skipped)."""

    run_id: str
    plan_id: str
    status: RunStatus
    duration_s: float | None
    finished_at: datetime | None


class TestCaseOut(BaseModel):
    __test__ = False
    model_config = ConfigDict(from_attributes=True)

    id: str
    project_id: str
    title: str
    description: str
    code: str | None
    reference: str | None
    priority: Priority
    tags: list[str]
    status: TestStatus
    origin: Origin
    target: str | None
    generation_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    last_run: LastRun | None = Field(
        default=None, description="Its latest finished run; null when it never finished one."
    )


class TestRunHistoryOut(BaseModel):
    """One run of a test case, with the plan it ran in and the snapshot it ran on."""

    __test__ = False

    id: str
    status: RunStatus
    attempt: int
    duration_s: float | None
    failure: str | None
    isolation: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    plan_id: str
    plan_name: str
    plan_status: PlanStatus
    plan_trigger: Trigger
    snapshot_hash: str | None = Field(description="The project snapshot it ran on (content hash).")


class BulkUpdate(RequestModel):
    ids: list[str] = Field(min_length=1, max_length=1000)
    status: TestStatus | None = None
    add_tags: list[Tag] = Field(default_factory=list, max_length=50)
    remove_tags: list[str] = Field(default_factory=list, max_length=50)
    priority: Priority | None = None


class BulkResult(BaseModel):
    updated: int
