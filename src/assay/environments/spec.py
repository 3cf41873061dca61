"""What defines an environment, and reading it from a project.

Two projects with the same requirements (after normalization) and Python version
share an environment; changing either, or the runner's own needs, makes a new one.
The project itself is never installed: its snapshot is on sys.path (and `src/`
for src layouts), so the same environment serves every commit of the project.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RUNNER_PACKAGES = ("pytest", "coverage", "hypothesis")
RUNNER_VERSION = "3"
"""Bump when RUNNER_PACKAGES or how environments are built changes: old ones are not reused."""

TEST_EXTRAS = ("test", "tests", "testing")


def default_python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def normalize(requirement: str) -> str:
    """`Six >= 1.0 ` and `six>=1.0` are the same requirement: one cache key."""
    return re.sub(r"\s+", "", requirement).lower()


@dataclass
class EnvSpec:
    requirements: list[str]
    python_version: str = field(default_factory=default_python_version)

    @property
    def key(self) -> str:
        payload = json.dumps({
            "python": self.python_version,
            "requirements": sorted({normalize(r) for r in self.requirements if r.strip()}),
            "runner": RUNNER_VERSION,
        })
        return hashlib.sha256(payload.encode()).hexdigest()[:20]

    @property
    def install_list(self) -> list[str]:
        return [*RUNNER_PACKAGES, *(r.strip() for r in self.requirements if r.strip())]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_requirements(path: Path, root: Path, seen: set[Path]) -> list[str]:
    """Requirement lines of a pip requirements file, following -r includes.

    Options (index URLs, -e, -c) and local paths are dropped: the project is not
    installed, and index settings are the operator's to choose, not the project's.
    """
    path = path.resolve()
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    out: list[str] = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        include = re.match(r"^(-r|--requirement)\s*=?\s*(\S+)$", line)
        if include:
            target = (path.parent / include.group(2)).resolve()
            if target == root or root in target.parents:
                out += _read_requirements(target, root, seen)
            continue
        if line.startswith(("-", ".", "/", "file:")):
            continue
        out.append(line)
    return out


def spec_for_project(project_dir: Path, python_version: str | None = None) -> EnvSpec:
    """requirements.txt if present, else pyproject's dependencies plus its test extras."""
    version = python_version or default_python_version()
    root = project_dir.resolve()
    req = root / "requirements.txt"
    if req.is_file():
        return EnvSpec(_read_requirements(req, root, set()), version)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{pyproject.name} is not valid TOML: {exc}") from exc
        project = data.get("project", {})
        reqs = list(project.get("dependencies", []))
        extras = project.get("optional-dependencies", {})
        for name in TEST_EXTRAS:
            reqs += extras.get(name, [])
        return EnvSpec(reqs, version)
    return EnvSpec([], version)
