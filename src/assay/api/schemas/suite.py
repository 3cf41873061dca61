"""Schemas for importing a project's own suite."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class CollectError(BaseModel):
    path: str
    error: str


class ImportOut(BaseModel):
    """A suite import: `running`, `finished` (with its counts) or `failed` (with `detail`)."""

    id: str
    status: Literal["running", "finished", "failed"]
    started_at: str | None = None
    finished_at: str | None = None
    collected: int | None = None
    created: int | None = None
    restored: int | None = None
    archived: int | None = None
    unchanged: int | None = None
    archived_ids: list[str] | None = None
    errors: list[CollectError] | None = Field(
        default=None, description="Modules that failed to collect; their tests stay as they were."
    )
    notes: list[str] | None = None
    detail: str | None = Field(default=None, description="What to fix, when the import failed.")
