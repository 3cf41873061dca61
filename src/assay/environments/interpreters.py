"""Finding a base interpreter the sandbox uid can run.

A venv's python is a symlink to its base interpreter. When the server runs as
root from, say, a pyenv under /root, environments built on that interpreter are
unusable by `nobody`; so we prefer system interpreters that are reachable.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from assay.sandbox.identity import SandboxPathError, check_readable, sandbox_identity


def _version_of(python: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def find_interpreter(version: str) -> Path | None:
    """A Python `version` (e.g. "3.11") reachable by the sandbox uid, or None."""
    names = [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    if (found := shutil.which(f"python{version}")) is not None:
        names.append(found)
    names.append(sys.executable)
    identity = sandbox_identity()
    for name in dict.fromkeys(names):
        path = Path(name)
        if not path.exists():
            continue
        try:
            check_readable([path], identity)
        except SandboxPathError:
            continue
        if _version_of(path) == version:
            return path
    return None
