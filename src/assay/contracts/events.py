"""Every event Assay records: its type, and the payload that type carries.

An event is written in the transaction of the change it describes (see
`assay.events.store`), replayed from the events table by sequence, and streamed to
WebSocket clients and the orchestrator. Producers build one of the payload models
below, so an event's type and its fields are checked where it is made; consumers
read `EventEnvelope.payload` as the discriminated union `EventPayload`, narrowed
by its `type` — the dashboard gets the same union from the OpenAPI schema.

The payload repeats its event's `type`: that is what discriminates the union, so
a payload can be checked without its envelope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from assay.contracts.base import Contract

RunStatus = Literal["queued", "running", "passed", "failed", "error", "skipped", "cancelled"]
PlanStatus = Literal["queued", "running", "passed", "failed", "error", "cancelled"]


class Payload(Contract):
    """Base of every event payload."""


# -- the orchestrator ---------------------------------------------------------------

class OrchestratorStarted(Payload):
    type: Literal["orchestrator.started"] = "orchestrator.started"
    owner: str
    executor: str
    slots: int
    isolation: str


class OrchestratorStopped(Payload):
    type: Literal["orchestrator.stopped"] = "orchestrator.stopped"
    owner: str


class OrchestratorRestarted(Payload):
    type: Literal["orchestrator.restarted"] = "orchestrator.restarted"
    reason: str | None
    restarts: int


# -- plans and their runs -----------------------------------------------------------

class PlanQueued(Payload):
    type: Literal["plan.queued"] = "plan.queued"
    status: PlanStatus
    priority: str
    name: str
    total: int
    trigger: str


class PlanStarted(Payload):
    type: Literal["plan.started"] = "plan.started"
    status: PlanStatus
    attempt: int
    owner: str


class PlanRequeued(Payload):
    type: Literal["plan.requeued"] = "plan.requeued"
    status: PlanStatus
    reason: str


class PlanCancelled(Payload):
    type: Literal["plan.cancelled"] = "plan.cancelled"
    status: PlanStatus


class PlanFinished(Payload):
    type: Literal["plan.finished"] = "plan.finished"
    status: PlanStatus
    counts: dict[str, int] | None = None
    error: str | None = None
    trigger: str | None = None


class TestStarted(Payload):
    __test__ = False  # not a pytest class, whatever its name

    type: Literal["test.started"] = "test.started"
    run_id: str
    started_at: datetime


class TestFinished(Payload):
    __test__ = False

    type: Literal["test.finished"] = "test.finished"
    run_id: str
    status: RunStatus
    duration_s: float | None
    failure: str | None


# -- generation ---------------------------------------------------------------------

class GenerationTarget(BaseModel):
    """A function or method tests are generated for (`assay.generation.model.TargetInfo`)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    module: str
    qualname: str
    file: str
    kind: str
    signature: str
    line_start: int
    line_end: int
    lines: list[int]
    is_async: bool = False


Verdict = Literal["accepted", "failed", "flaky", "no_new_coverage", "error"]


class GenerationCandidate(BaseModel):
    """A generated test and what validating it found (`assay.generation.model.Candidate`)."""

    model_config = ConfigDict(extra="forbid")

    target: str
    name: str
    code: str
    verdict: Verdict
    runs_passed: int = 0
    runs_total: int = 0
    target_lines_covered: list[int] = Field(default_factory=list)
    new_lines_covered: list[int] = Field(default_factory=list)
    failure: str | None = None
    engine: str = "builtin"
    kind: str = "example"


class GenerationStarted(Payload):
    type: Literal["generation.started"] = "generation.started"
    generation_id: str
    mode: str
    engine: str


class GenerationTargets(Payload):
    type: Literal["generation.targets"] = "generation.targets"
    generation_id: str
    targets: list[GenerationTarget]
    notes: list[str]


class GenerationPhase(Payload):
    type: Literal["generation.phase"] = "generation.phase"
    generation_id: str
    phase: Literal["asking_model", "observing", "validating"]
    candidates: int | None = None
    """For `validating`: how many candidates are being validated."""


class GenerationCandidateChecked(Payload):
    type: Literal["generation.candidate"] = "generation.candidate"
    generation_id: str
    candidate: GenerationCandidate


class GenerationError(Payload):
    type: Literal["generation.error"] = "generation.error"
    generation_id: str
    message: str


class GenerationFinished(Payload):
    type: Literal["generation.finished"] = "generation.finished"
    generation_id: str
    status: Literal["finished", "error"]
    error: str | None = None
    accepted: int | None = None
    candidates: int | None = None
    plan_id: str | None = None


# -- importing a project's suite ----------------------------------------------------

class ImportStarted(Payload):
    type: Literal["suite.import.started"] = "suite.import.started"
    import_id: str


class ImportProgress(Payload):
    type: Literal["suite.import.progress"] = "suite.import.progress"
    import_id: str
    phase: Literal["snapshot", "environment", "collect"]


class CollectionError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    error: str


class ImportFinished(Payload):
    type: Literal["suite.import.finished"] = "suite.import.finished"
    import_id: str
    collected: int
    created: int
    restored: int
    archived: int
    unchanged: int
    archived_ids: list[str]
    errors: list[CollectionError]
    notes: list[str]


class ImportFailed(Payload):
    type: Literal["suite.import.failed"] = "suite.import.failed"
    import_id: str
    detail: str


EventPayload = Annotated[
    OrchestratorStarted | OrchestratorStopped | OrchestratorRestarted
    | PlanQueued | PlanStarted | PlanRequeued | PlanCancelled | PlanFinished
    | TestStarted | TestFinished
    | GenerationStarted | GenerationTargets | GenerationPhase | GenerationCandidateChecked
    | GenerationError | GenerationFinished
    | ImportStarted | ImportProgress | ImportFinished | ImportFailed,
    Field(discriminator="type"),
]
PAYLOAD: TypeAdapter[EventPayload] = TypeAdapter(EventPayload)


class EventEnvelope(BaseModel):
    """An event as stored, replayed and streamed."""

    seq: int
    type: str
    plan_id: str | None
    project_id: str | None
    payload: EventPayload
    created_at: datetime


def parse_payload(type_: str, payload: dict[str, Any]) -> EventPayload:
    """A stored payload as its model (rows written before payloads carried `type`)."""
    return PAYLOAD.validate_python({"type": type_, **payload})
