"""Schemas for projects and their sources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.api.schemas.base import RequestModel
from assay.environments.project_settings import ProjectSettings


class PathSource(RequestModel):
    type: Literal["path"]
    path: str = Field(min_length=1, max_length=4096, description="A directory on the server.")


class GitSource(RequestModel):
    type: Literal["git"]
    url: str = Field(min_length=1, max_length=2048, description="A local or remote git repository.")
    ref: str | None = Field(default=None, max_length=255, description="Branch, tag or commit.")


Source = Annotated[PathSource | GitSource, Field(discriminator="type")]


class ProjectCreate(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=10_000)
    source: Source
    settings: ProjectSettings = Field(default_factory=ProjectSettings)


class ProjectUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)
    source: Source | None = None
    settings: ProjectSettings | None = Field(
        default=None, description="Replaces the project's settings as a whole.")


class PathSourceOut(BaseModel):
    """A stored path source as answered (lenient, unlike the strict request model)."""

    type: Literal["path"]
    path: str


class GitSourceOut(BaseModel):
    type: Literal["git"]
    url: str
    ref: str | None = None


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    source: PathSourceOut | GitSourceOut
    created_at: datetime
    updated_at: datetime
    test_count: int = 0
    settings: dict[str, Any] = {}
    last_import: dict[str, Any] | None = None
