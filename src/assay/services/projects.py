"""Project sources: validated on write, resolved to a directory when a plan needs one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assay.errors import InvalidInput

GIT_URL = re.compile(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")


class SourceError(InvalidInput, ValueError):
    field = "source"


def _is_git_repository(path: Path) -> bool:
    """A work tree (with `.git`) or a bare repository (HEAD, objects and refs)."""
    if (path / ".git").exists():
        return True
    return all((path / part).exists() for part in ("HEAD", "objects", "refs"))


def validate_source(source: dict[str, Any]) -> dict[str, Any]:
    """Normalize a source, raising SourceError with what to fix."""
    if source["type"] == "path":
        try:
            path = Path(source["path"]).expanduser()
        except RuntimeError as exc:  # "~someone/..." naming no user of this server
            raise SourceError(f"path {source['path']!r}: {exc}") from exc
        if not path.is_absolute():
            raise SourceError(f"path {source['path']!r} must be absolute (the server's own path)")
        if not path.is_dir():
            raise SourceError(f"path {source['path']!r} is not a directory on the server")
        return {"type": "path", "path": str(path.resolve())}
    url = source["url"].strip()
    if not (GIT_URL.match(url) or Path(url).is_absolute()):
        raise SourceError(
            f"git url {url!r} is not a git URL (https://, ssh://, git@host:, file://) "
            "or an absolute path to a repository"
        )
    if not GIT_URL.match(url):
        if not Path(url).is_dir():
            raise SourceError(f"git repository path {url!r} does not exist on the server")
        if not _is_git_repository(Path(url)):
            raise SourceError(f"{url!r} is a directory but not a git repository")
    return {"type": "git", "url": url, "ref": (source.get("ref") or None)}
