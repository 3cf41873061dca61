"""A project's code as the sandbox sees it: a content-addressed snapshot of its source.

Plans, test imports and generations all start here, so they agree on what "the
project's code" is: a path source is copied as it is now, a git source is fetched
at its ref; either way tests run on a read-only copy, never the user's tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.config import Settings
from assay.environments import EnvSpec
from assay.environments.project_settings import ProjectSettings, effective_settings
from assay.environments.spec import ProjectEnvironment, detect_environment
from assay.snapshots import materialize_git, snapshot_tree


@dataclass
class SourceSnapshot:
    """A snapshot and what running its tests takes: the environment and the run settings."""

    digest: str
    path: Path
    environment: ProjectEnvironment
    settings: ProjectSettings

    @property
    def env_spec(self) -> EnvSpec:
        return self.environment.spec


def current_tree(source: dict[str, Any], git_cache: Path) -> Path:
    """The directory holding the project's code right now (a git source is fetched)."""
    if source["type"] == "path":
        path = Path(source["path"])
        if not path.is_dir():
            raise FileNotFoundError(f"project path {path} no longer exists on the server")
        return path
    return materialize_git(source["url"], source.get("ref"), git_cache)


def snapshot_source(
    source: dict[str, Any], settings: Settings, project_settings: dict[str, Any] | None = None,
) -> SourceSnapshot:
    """Blocking (copies files, may run git): call it in a thread.

    `project_settings` are the project's stored settings; the snapshot's own
    `[tool.assay]` is laid over them (see `environments.project_settings`).
    """
    tree = current_tree(source, settings.data_dir.resolve() / "git")
    digest, path = snapshot_tree(tree, settings.snapshots_dir)
    run = effective_settings(project_settings, path)
    environment = detect_environment(path, run.choice(), run.python, run.install_project)
    return SourceSnapshot(digest, path, environment, run)
