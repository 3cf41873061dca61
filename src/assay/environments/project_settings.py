"""A project's settings: how its environment is built and how its tests are run.

Stored on the project (`PATCH /api/v1/projects/{id}` with `{"settings": ...}`, the
CLI, the dashboard), and overridable by a `[tool.assay]` table in the project's own
`pyproject.toml`, key by key, so a project can carry its own answer in its tree:

    [tool.assay]
    groups = ["test"]              # PEP 735 groups to install (default: detect)
    extras = ["tests"]             # test extras (default: detect)
    requirement_files = ["requirements/ci.txt"]
    extra_requirements = ["tzdata"]
    env = { TZ = "UTC" }           # environment variables for the tests
    pytest_args = ["-p", "no:randomly"]
    python = "3.12"                # default: .python-version, then requires-python
    install_project = true         # default: when the project declares a build

The same model travels to workers inside a job, so it is strict: an unknown key is
an error that names it, never silently ignored.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assay.environments.declarations import Choice, DeclarationError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PYTHON = re.compile(r"^3\.\d{1,2}(\.\d+)?$")


class ProjectSettings(BaseModel):
    """Every field is optional: None (or empty) means "detect" or "nothing extra"."""

    model_config = ConfigDict(extra="forbid")

    groups: list[str] | None = Field(None, max_length=50)
    extras: list[str] | None = Field(None, max_length=50)
    requirement_files: list[str] | None = Field(None, max_length=50)
    extra_requirements: list[str] = Field(default_factory=list, max_length=200)
    env: dict[str, str] = Field(default_factory=dict, max_length=100)
    pytest_args: list[str] = Field(default_factory=list, max_length=100)
    python: str | None = None
    install_project: bool | None = None

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
            if name.upper().startswith("ASSAY_") or name.upper() in {"PATH", "HOME",
                                                                     "PYTHONPATH"}:
                raise ValueError(f"{name} is set by Assay's sandbox and cannot be changed")
        return env

    @field_validator("python")
    @classmethod
    def _python(cls, value: str | None) -> str | None:
        if value is not None and not PYTHON.match(value):
            raise ValueError(f"{value!r} is not a Python version such as '3.12'")
        return value

    def choice(self) -> Choice:
        return Choice(groups=self.groups, extras=self.extras,
                      requirement_files=self.requirement_files,
                      extra_requirements=list(self.extra_requirements))


def tool_assay(project: Path) -> dict[str, Any]:
    """The `[tool.assay]` table of the project's pyproject.toml ({} when there is none)."""
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DeclarationError(f"pyproject.toml is not valid TOML: {exc}") from exc
    table = data.get("tool", {}).get("assay", {})
    return table if isinstance(table, dict) else {}


def effective_settings(stored: dict[str, Any] | None, project: Path) -> ProjectSettings:
    """The stored settings with the project's own `[tool.assay]` laid over them."""
    merged = {**(stored or {}), **tool_assay(project)}
    try:
        return ProjectSettings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DeclarationError(
            f"the project's settings ([tool.assay] or its stored settings) are invalid: "
            f"{where}: {first['msg']}") from exc
