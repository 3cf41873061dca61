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
from assay.environments import EnvSpec, spec_for_project
from assay.snapshots import materialize_git, snapshot_tree


@dataclass
class SourceSnapshot:
    digest: str
    path: Path
    env_spec: EnvSpec


def current_tree(source: dict[str, Any], git_cache: Path) -> Path:
    """The directory holding the project's code right now (a git source is fetched)."""
    if source["type"] == "path":
        path = Path(source["path"])
        if not path.is_dir():
            raise FileNotFoundError(f"project path {path} no longer exists on the server")
        return path
    return materialize_git(source["url"], source.get("ref"), git_cache)


def snapshot_source(source: dict[str, Any], settings: Settings) -> SourceSnapshot:
    """Blocking (copies files, may run git): call it in a thread."""
    tree = current_tree(source, settings.data_dir.resolve() / "git")
    digest, path = snapshot_tree(tree, settings.snapshots_dir)
    return SourceSnapshot(digest, path, spec_for_project(path))
