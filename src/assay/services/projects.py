"""Project sources: validated on write, resolved to a directory when a plan needs one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

GIT_URL = re.compile(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")


class SourceError(ValueError):
    pass


def validate_source(source: dict[str, Any]) -> dict[str, Any]:
    """Normalize a source, raising SourceError with what to fix."""
    if source["type"] == "path":
        path = Path(source["path"]).expanduser()
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
    if not GIT_URL.match(url) and not (Path(url).is_dir()):
        raise SourceError(f"git repository path {url!r} does not exist on the server")
    return {"type": "git", "url": url, "ref": (source.get("ref") or None)}
