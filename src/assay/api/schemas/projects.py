"""Schemas for projects and their sources."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from assay.api.schemas.base import RequestModel
from assay.environments.project_settings import ProjectSettings

PYTHON = r"^3\.[0-9]{1,2}(\.[0-9]+)?$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_ENV = (
    r"^([Aa][Ss][Ss][Aa][Yy]_|"
    r"([Pp][Aa][Tt][Hh]|[Hh][Oo][Mm][Ee]|[Pp][Yy][Tt][Hh][Oo][Nn][Pp][Aa][Tt][Hh])$)"
)
"""Set by Assay's sandbox: `ASSAY_*`, PATH, HOME and PYTHONPATH, in any case."""
GIT_URL = r"^\s*((https?|ssh|git|file)://|[\w.-]+@[\w.-]+:|/)"
"""A git URL (https://, ssh://, git://, file://, git@host:) or an absolute path."""


class PathSource(RequestModel):
    type: Literal["path"]
    path: str = Field(
        min_length=1,
        max_length=4096,
        description="A directory on the server: an absolute path (or one from `~`).",
        json_schema_extra={"pattern": "^[/~]"},
    )


class GitSource(RequestModel):
    type: Literal["git"]
    url: str = Field(
        min_length=1,
        max_length=2048,
        description="A remote git repository's URL, or the absolute path of a local one.",
        json_schema_extra={"pattern": GIT_URL},
    )
    ref: str | None = Field(default=None, max_length=255, description="Branch, tag or commit.")


Source = Annotated[PathSource | GitSource, Field(discriminator="type")]


class ProjectSettingsIn(ProjectSettings):
    """The project's settings as a request body: what their validators enforce, in the schema.

    The same checks as the stored model's (which also reads `[tool.assay]`), as
    exact as the schema's patterns: no trailing newline, ASCII digits, and a strict
    boolean.
    """

    python: str | None = Field(
        default=None,
        description="The Python to run the tests with, such as `3.12`.",
        json_schema_extra={"pattern": PYTHON},
    )
    install_project: StrictBool | None = None
    env: dict[str, str] = Field(
        default_factory=dict,
        max_length=100,
        description="Environment variables for the tests.",
        json_schema_extra={"propertyNames": {"pattern": ENV_NAME,
                                             "not": {"pattern": RESERVED_ENV}}},
    )

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not re.fullmatch(ENV_NAME[1:-1], name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
            if re.match(RESERVED_ENV, name):
                raise ValueError(f"{name} is set by Assay's sandbox and cannot be changed")
        return env

    @field_validator("python")
    @classmethod
    def _python(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(PYTHON[1:-1], value):
            raise ValueError(f"{value!r} is not a Python version such as '3.12'")
        return value


class ProjectCreate(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=10_000)
    source: Source
    settings: ProjectSettingsIn = Field(default_factory=ProjectSettingsIn)


class ProjectUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)
    source: Source | None = None
    settings: ProjectSettingsIn | None = Field(
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
    test_count: int = Field(default=0, description="Its test cases, archived ones not counted.")
    archived_count: int = Field(default=0, description="Its archived test cases.")
    settings: dict[str, Any] = {}
    last_import: dict[str, Any] | None = None
