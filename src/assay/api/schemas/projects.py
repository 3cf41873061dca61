"""Schemas for projects and their sources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class PathSource(BaseModel):
    type: Literal["path"]
    path: str = Field(min_length=1, max_length=4096, description="A directory on the server.")


class GitSource(BaseModel):
    type: Literal["git"]
    url: str = Field(min_length=1, max_length=2048, description="A local or remote git repository.")
    ref: str | None = Field(default=None, max_length=255, description="Branch, tag or commit.")


Source = Annotated[PathSource | GitSource, Field(discriminator="type")]


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=10_000)
    source: Source


class ProjectUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)
    source: Source | None = None


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    source: PathSource | GitSource
    created_at: datetime
    updated_at: datetime
    test_count: int = 0
