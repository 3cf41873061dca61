"""The Python interpreters on this machine, and choosing one for a project.

A project says which Python it wants through `.python-version` or `requires-python`;
its developers then use whichever of their interpreters fits. Assay does the same
among what this machine has: system interpreters (`/usr/bin`, `/usr/local/bin`),
pyenv's versions and the server's own. For each version it prefers an interpreter
the sandbox uid can reach on the host (a system one), because `process` isolation
as root runs tests as `nobody`; under bubblewrap every one of them is bound in.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from assay.errors import InvalidInput
from assay.sandbox.identity import SandboxPathError, check_readable, sandbox_identity


class NoInterpreter(InvalidInput, ValueError):
    """No interpreter on this machine fits what the project asks for."""


def _version_of(python: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _pyenv_root() -> Path | None:
    root = os.environ.get("PYENV_ROOT")
    if root:
        return Path(root)
    for home in {os.path.expanduser("~"), "/root"}:
        if Path(home, ".pyenv", "versions").is_dir():
            return Path(home, ".pyenv")
    return None


def _candidates() -> list[Path]:
    """Every interpreter worth asking, system ones first."""
    names: list[str] = []
    for folder in ("/usr/bin", "/usr/local/bin"):
        names += sorted(glob.glob(f"{folder}/python3.[0-9]*"))
    pyenv = _pyenv_root()
    if pyenv is not None:
        names += sorted(glob.glob(str(pyenv / "versions" / "*" / "bin" / "python3.[0-9]*")))
    if (found := shutil.which("python3")) is not None:
        names.append(found)
    names.append(sys.executable)
    pattern = re.compile(r"python3\.\d+$")
    return [Path(n) for n in dict.fromkeys(names)
            if pattern.search(n) or n in (sys.executable, found)]


def _reachable(path: Path) -> bool:
    try:
        check_readable([path], sandbox_identity())
    except SandboxPathError:
        return False
    return True


@lru_cache(maxsize=1)
def available_interpreters() -> dict[str, Path]:
    """"3.12" -> an interpreter of that version, one the sandbox uid reaches if any does."""
    found: dict[str, Path] = {}
    reachable: dict[str, bool] = {}
    for path in _candidates():
        if not path.exists():
            continue
        version = _version_of(path)
        if version is None or Version(version) < Version("3.8"):
            continue
        ok = _reachable(path)
        if version not in found or (ok and not reachable[version]):
            found[version], reachable[version] = path, ok
    return dict(sorted(found.items(), key=lambda kv: Version(kv[0])))


def find_interpreter(version: str) -> Path | None:
    """An interpreter of `version` (e.g. "3.11"), or None."""
    return available_interpreters().get(version)


def server_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def choose_version(requires_python: str | None, pinned: str | None) -> tuple[str, str]:
    """The version to build with and why: a pin, then `requires-python`, then the server's.

    Among versions `requires-python` admits, the server's own is taken when it fits
    (environments then share uv's cache best), else the newest available.
    """
    available = available_interpreters()
    names = ", ".join(available) or "none"
    if pinned:
        short = ".".join(pinned.strip().split(".")[:2])
        if short not in available:
            raise NoInterpreter(
                f"the project asks for Python {pinned.strip()}, which this machine does not "
                f"have; available: {names}"
            )
        return short, f"pinned to {pinned.strip()}"
    if requires_python:
        try:
            spec = SpecifierSet(requires_python)
        except InvalidSpecifier as exc:
            raise NoInterpreter(f"requires-python {requires_python!r} is not valid: {exc}") \
                from exc
        fitting = [v for v in available if spec.contains(Version(f"{v}.99"), prereleases=True)
                   or spec.contains(Version(f"{v}.0"), prereleases=True)]
        if not fitting:
            raise NoInterpreter(
                f"requires-python {requires_python} matches none of the Python versions on "
                f"this machine: {names}"
            )
        chosen = server_version() if server_version() in fitting else fitting[-1]
        return chosen, f"requires-python {requires_python}"
    return server_version(), "the server's Python; the project does not say"
