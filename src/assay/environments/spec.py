"""What defines an environment, and making one from a project's declarations.

Two projects with the same requirements (after normalization) and Python version
share an environment; changing either, or the runner's own needs, makes a new one.
What a project declares is read by `declarations`, its interpreter chosen by
`interpreters`; the spec holds only the outcome, so a worker on another machine
builds the same environment from it.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assay.environments.declarations import Choice, DeclarationError, Detection, detect
from assay.environments.install import build_backend, wants_install
from assay.environments.interpreters import choose_version
from assay.environments.uv import uv_binary

RUNNER_PACKAGES = ("pytest", "coverage", "hypothesis")
RUNNER_VERSION = "3"
"""Bump when RUNNER_PACKAGES or how environments are built changes: old ones are not reused."""


def default_python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def normalize(requirement: str) -> str:
    """`Six >= 1.0 ` and `six>=1.0` are the same requirement: one cache key."""
    return re.sub(r"\s+", "", requirement).lower()


@dataclass
class EnvSpec:
    """An environment's definition: its requirements, Python, and the project's build needs.

    `install_project` says the project itself is installed into what its tests run
    in (per snapshot, see `environments.install`); the environment then also holds
    its build backend (`build_requires`), so the build needs no network.
    """

    requirements: list[str]
    python_version: str = field(default_factory=default_python_version)
    install_project: bool = False
    build_requires: list[str] = field(default_factory=list)
    # requirement -> where it was declared; for build errors, not part of the key.
    origins: dict[str, str] = field(default_factory=dict)

    def origin_of(self, log: str) -> str:
        """Which declarations the requirements named in an installer's `log` came from."""
        named = []
        text = log.lower()
        for requirement, origin in self.origins.items():
            name = re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0].lower()
            if name and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
                named.append(f"{requirement!r} comes from {origin}")
        return "; ".join(dict.fromkeys(named))

    @property
    def key(self) -> str:
        payload: dict[str, Any] = {
            "python": self.python_version,
            "requirements": sorted({normalize(r) for r in self.requirements if r.strip()}),
            "runner": RUNNER_VERSION,
        }
        if self.install_project:
            payload["build"] = sorted({normalize(r) for r in self.build_requires})
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:20]

    @property
    def install_list(self) -> list[str]:
        build = self.build_requires if self.install_project else []
        return [*RUNNER_PACKAGES, *(r.strip() for r in [*self.requirements, *build] if r.strip())]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _lock_requirements(project: Path, groups: list[str]) -> list[str]:
    """`uv.lock`, exported frozen: the locked versions of runtime deps and test groups.

    uv reads the lock and pyproject.toml only (no build, no project code); a lock
    that disagrees with pyproject.toml is the project's to fix, and says so.
    """
    uv = uv_binary()
    if uv is None:
        raise DeclarationError("the project has a uv.lock, and uv is not installed here")
    argv = [uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-header",
            "--format", "requirements-txt", *[a for g in groups for a in ("--group", g)]]
    done = subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=120,
                          check=False)
    if done.returncode != 0:
        raise DeclarationError(f"uv.lock cannot be exported: {done.stderr.strip()[-2000:]}")
    lines = [line.strip() for line in done.stdout.splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "-e", "."))]


@dataclass
class ProjectEnvironment:
    """What was detected in a project and the environment spec made from it."""

    spec: EnvSpec
    detection: Detection
    python_reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.detection.to_dict(), "python_version": self.spec.python_version,
                "python_reason": self.python_reason, "env_key": self.spec.key,
                "install_list": self.spec.install_list}


def detect_environment(
    project_dir: Path, choice: Choice | None = None, python_version: str | None = None,
    install_project: bool | None = None,
) -> ProjectEnvironment:
    """Read the project's declarations (see `declarations`) and choose its interpreter.

    Raises DeclarationError (or NoInterpreter) with a message naming what to fix.
    """
    detection = detect(project_dir, choice)
    requirements = [r.text for r in detection.requirements]
    if detection.lock is not None and (choice is None or choice.requirement_files is None):
        extra = [r for r in requirements if r in (choice.extra_requirements if choice else [])]
        requirements = _lock_requirements(project_dir, detection.lock_groups) + extra
    if python_version:
        version, reason = choose_version(None, python_version)
        reason = "set in the project's settings"
    else:
        version, reason = choose_version(detection.requires_python, detection.python_pin)
    install = wants_install(project_dir) if install_project is None else install_project
    build = build_backend(project_dir)[2] if install else []
    origins = {r.text: r.origin for r in detection.requirements}
    if detection.lock is not None:
        origins.update({r: "uv.lock" for r in requirements if r not in origins})
    origins.update({r: "[build-system] requires" for r in build})
    spec = EnvSpec(requirements, version, install, build, origins)
    return ProjectEnvironment(spec, detection, reason)


def spec_for_project(project_dir: Path, python_version: str | None = None) -> EnvSpec:
    """The environment spec for `project_dir` as detected (see `detect_environment`)."""
    return detect_environment(project_dir, None, python_version).spec
