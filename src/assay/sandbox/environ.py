"""The environment variables a sandboxed process sees.

Nothing of the server's environment leaks in (it holds `ASSAY_SECRET_KEY`,
database URLs, LLM keys): we start from an empty mapping, add a minimal PATH and
locale, point HOME and TMPDIR into the workspace, then add what the caller asks
for, except `ASSAY_*` names, which are refused even when passed explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


def scrubbed_env(workspace: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": BASE_PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(workspace / ".home"),
        "TMPDIR": str(workspace / ".tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for name, value in (extra or {}).items():
        if name.upper().startswith("ASSAY_"):
            continue
        env[name] = value
    return env
