"""Schemas for AI test generation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from assay.api.schemas.base import Integer, RequestModel

MAX_INPUT = 512 * 1024


class GenerateRequest(RequestModel):
    project_id: str = Field(min_length=1, max_length=32)
    mode: Literal["diff", "function"]
    diff: str | None = Field(default=None, description="A unified diff (`git diff` output).")
    target: str | None = Field(
        default=None,
        max_length=500,
        description="`pkg.module:function`, `pkg.module:Class.method` or a module `pkg.module`.",
    )
    source: str | None = Field(
        default=None, description="A pasted function or module, when no project file has it."
    )
    engine: Literal["builtin", "llm"] = "builtin"
    max_tests: Integer = Field(default=20, ge=1, le=200)
    auto_execute: StrictBool = Field(
        default=True, description="Queue a plan with the accepted tests."
    )

    @model_validator(mode="after")
    def _inputs_for_mode(self) -> GenerateRequest:
        if self.mode == "diff" and not self.diff:
            raise ValueError("mode 'diff' needs 'diff' (the output of `git diff`)")
        if self.mode == "function" and not (self.target or self.source):
            raise ValueError("mode 'function' needs 'target' (pkg.module:function) or 'source'")
        return self


class GenerateAccepted(BaseModel):
    generation_id: str
    status: str


class CandidateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    target: str
    name: str
    code: str
    verdict: str
    runs_passed: int
    runs_total: int
    target_lines_covered: list[int]
    new_lines_covered: list[int]
    failure: str | None
    test_case_id: str | None


class GenerationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    project_id: str
    mode: str
    engine: str
    status: str
    request: dict[str, Any]
    targets: list[Any]
    notes: list[Any]
    coverage: dict[str, Any]
    error: str | None
    plan_id: str | None
    created_by: str | None
    created_at: datetime
    finished_at: datetime | None
    accepted: int = 0
    candidates: list[CandidateOut] = Field(default_factory=list)


class SymbolOut(BaseModel):
    target: str = Field(description="What to pass as `target`: pkg.module:Qual.name")
    name: str
    module: str
    qualname: str
    kind: str
    signature: str
    file: str
    line_start: int
    line_end: int


class SymbolsOut(BaseModel):
    items: list[SymbolOut]
    total: int
