"""Environments: the cached per-project virtualenvs tests run in."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from assay.api.deps import Ctx, Viewer
from assay.api.errors import PROJECT_WORK, ROLE, errors
from assay.api.project_errors import answering_project_failures
from assay.api.routes.projects import get_project
from assay.api.schemas.environments import EnvironmentOut, ProjectEnvironmentOut
from assay.environments.project_settings import effective_settings
from assay.environments.spec import detect_environment
from assay.services.source import current_tree

router = APIRouter(prefix="/environments", tags=["environments"])


@router.get("", response_model=list[EnvironmentOut], responses=errors(*ROLE))
async def list_environments(_: Viewer, ctx: Ctx) -> list[dict[str, Any]]:
    """Every environment with its state (building, ready, failed, leased)."""
    infos = await asyncio.to_thread(ctx.pool.list)
    return [info.to_dict() if hasattr(info, "to_dict") else vars(info) for info in infos]


project_router = APIRouter(tags=["environments"])


@project_router.get(
    "/projects/{project_id}/environment",
    response_model=ProjectEnvironmentOut,
    responses=errors(
        *ROLE, PROJECT_WORK,
        {404: "No such project.",
         422: "The project's declarations or settings are invalid, or its source "
              "cannot be read."},
    ),
)
async def project_environment(project_id: str, _: Viewer, ctx: Ctx) -> dict[str, Any]:
    """What Assay found in the project and makes of it.

    `settings` (stored, with `[tool.assay]` laid over them), `declarations` (every
    place that declares dependencies, and whether it is used), `requirements` (each
    with where it came from), the Python chosen and why, whether the project itself
    is installed, and the environment: its copies and state, the packages resolved
    (name and version), the end of its build log and the project installs built on it.
    """

    def load() -> tuple[dict[str, Any], dict[str, Any]]:
        with ctx.db.session() as session:
            project = get_project(session, project_id)
            return dict(project.source), dict(project.settings or {})

    source, stored = await asyncio.to_thread(load)

    def inspect() -> dict[str, Any]:
        tree = current_tree(source, ctx.settings.data_dir.resolve() / "git")
        run = effective_settings(stored, tree)
        found = detect_environment(tree, run.choice(), run.python, run.install_project)
        return {"settings": run.model_dump(), **found.to_dict(),
                "install_project": found.spec.install_project,
                "environment": ctx.pool.describe(found.spec.key)}

    with answering_project_failures(source.get("path")):
        return await asyncio.to_thread(inspect)
