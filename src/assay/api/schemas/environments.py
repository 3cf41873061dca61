"""Schemas for environments: the cached virtualenvs tests run in, and what a project needs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EnvironmentOut(BaseModel):
    key: str
    copy_: int = Field(alias="copy")
    path: str
    state: str = Field(description="building | ready | failed | leased")
    python_version: str | None = None
    requirements: list[str] = Field(default_factory=list)
    created_at: str | None = None
    last_used_at: str | None = None
    size_bytes: int | None = None
    build_seconds: float | None = None
    error: str | None = None


class PackageOut(BaseModel):
    name: str
    version: str


class EnvironmentDescription(BaseModel):
    key: str
    copies: list[EnvironmentOut]
    packages: list[PackageOut] = Field(description="Resolved in a ready copy, if there is one.")
    build_log: str = Field(description="The end of the build log.")
    project_installs: list[dict[str, Any]] = Field(
        description="Installs of the project's snapshots built on it, newest first."
    )


class DeclarationOut(BaseModel):
    kind: str
    source: str
    requirements: list[str]
    used: bool


class RequirementOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    requirement: str
    from_: str = Field(alias="from", description="The declaration it comes from.")


class ProjectEnvironmentOut(BaseModel):
    settings: dict[str, Any] = Field(
        description="The stored settings with the project's `[tool.assay]` laid over them."
    )
    declarations: list[DeclarationOut]
    requirements: list[RequirementOut]
    lock: str | None
    lock_groups: list[str]
    requires_python: str | None
    python_pin: str | None
    build_requires: list[str]
    python_version: str
    python_reason: str
    env_key: str
    install_list: list[str]
    install_project: bool
    environment: EnvironmentDescription
