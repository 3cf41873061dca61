"""The project itself installed into what its tests run in, once per snapshot.

A developer runs `pip install -e .` before `pytest`: package metadata
(`importlib.metadata.version`), entry points and compiled extensions then work.
Assay does the same, in the sandbox, once per (environment, snapshot):

- the snapshot is copied into a scratch workspace and its editable wheel built
  there (`_build_project.py`), which builds compiled extensions in place;
- the built tree (the snapshot plus what the build wrote into it) is kept as
  `tree/`, and the wheel's contents (its `.dist-info` and the `.pth` or finder
  files that point at the source) as `site/`, with the build directory's path
  replaced by a placeholder;
- each job copies `tree/` as its project and `site/` into its workspace with the
  placeholder set to its own project path, and adds it as a site directory
  (`sitecustomize`), so `.pth` files work as they would in site-packages.

The environment (dependencies, shared by every commit) is never written to, so one
environment serves every snapshot at once. A second plan on the same snapshot pays
nothing; a new commit pays one build of the project, not of its dependencies. A
failed build is remembered for that snapshot (the next commit tries again) and
reported with the end of its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import shutil
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from assay.errors import InvalidInput
from assay.sandbox import Limits, run_sandboxed

BUILD_SCRIPT = Path(__file__).with_name("_build_project.py")
RESULT = "assay-build.json"
PLACEHOLDER = "@ASSAY_PROJECT_DIR@"
STATE = "state.json"
LOG = "build.log"
LOG_TAIL = 4000
MAX_SITE_BYTES = 64 << 20
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
EDITABLE_REQUIRES = {"hatchling.build": ["editables"]}
"""What a backend's `get_requires_for_build_editable` adds, for the backends that add any.

Installed with the environment (the build itself has no network), so the table is
static: asking the backend would mean running it before its environment exists.
"""


class ProjectBuildError(InvalidInput, RuntimeError):
    """Building or installing the project failed; the message ends with the log's tail."""


@dataclass(frozen=True)
class InstalledProject:
    """A snapshot, built: the tree jobs copy and the site files that install it."""

    tree: Path
    site: Path
    mode: str
    seconds: float


def wants_install(project: Path) -> bool:
    """Whether `project` is something pip could install (it declares a build)."""
    if (project / "setup.py").is_file() or (project / "setup.cfg").is_file():
        return True
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    return "build-system" in data or "project" in data


def build_backend(project: Path) -> tuple[str, list[str], list[str]]:
    """(backend, backend-path, requires) from `[build-system]`, pip's defaults otherwise."""
    data: dict[str, object] = {}
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        with contextlib.suppress(tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    system = data.get("build-system")
    if not isinstance(system, dict):
        return DEFAULT_BACKEND, [], ["setuptools>=40.8.0"]
    requires = [str(r) for r in system.get("requires", ["setuptools>=40.8.0"])]
    backend = str(system.get("build-backend", DEFAULT_BACKEND))
    return (backend, [str(p) for p in system.get("backend-path", [])],
            requires + EDITABLE_REQUIRES.get(backend, []))


def _state(base: Path) -> dict[str, object] | None:
    try:
        return dict(json.loads((base / STATE).read_text()))
    except (OSError, ValueError):
        return None


def _tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL:]
    except OSError:
        return ""


def _lock(path: Path) -> IO[str]:
    """Block until this process holds the exclusive lock on `path` (closing releases it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


_LOCKS: dict[str, asyncio.Lock] = {}


async def ensure_installed(
    base: Path, snapshot: Path, python: Path, workspaces_dir: Path, limits: Limits,
    isolation: str, readonly_paths: list[Path],
) -> InstalledProject:
    """The install of `snapshot` cached at `base`, building it first when needed.

    Concurrent callers (coroutines or processes) for the same `base` wait for one
    build through a file lock, then all use its result.
    """
    lock = base.with_name(base.name + ".lock")
    async with _LOCKS.setdefault(str(base), asyncio.Lock()):  # one build per process...
        handle = await asyncio.to_thread(_lock, lock)  # ...and per machine
        try:
            state = await asyncio.to_thread(_state, base)
            if state is None:
                await _build(base, snapshot, python, workspaces_dir, limits, isolation,
                             readonly_paths)
                state = await asyncio.to_thread(_state, base)
        finally:
            handle.close()
    assert state is not None
    if state.get("state") != "ready":
        raise ProjectBuildError(str(state.get("error")))
    return InstalledProject(base / "tree", base / "site", str(state["mode"]),
                            float(str(state.get("seconds", 0.0))))


async def _build(
    base: Path, snapshot: Path, python: Path, workspaces_dir: Path, limits: Limits,
    isolation: str, readonly_paths: list[Path],
) -> None:
    started = time.monotonic()
    backend, backend_path, _ = build_backend(snapshot)
    ws = workspaces_dir / f"build-{base.name[:16]}-{int(started * 1000) % 10**9}"
    project, out = ws / "project", ws / "out"

    def lay_out() -> None:
        workspaces_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(ws, ignore_errors=True)
        ws.mkdir(mode=0o755)
        shutil.copytree(snapshot, project, symlinks=True)
        out.mkdir()
        shutil.copy(BUILD_SCRIPT, ws / BUILD_SCRIPT.name)

    await asyncio.to_thread(lay_out)
    log = base.with_name(base.name + "." + LOG)
    try:
        config = json.dumps({"backend": backend, "backend_path": backend_path, "out": str(out)})
        result = await run_sandboxed(
            [str(python), str(ws / BUILD_SCRIPT.name), config], workspace=ws, cwd=project,
            limits=limits, isolation=isolation, readonly_paths=readonly_paths,
        )
        await asyncio.to_thread(log.write_text, result.stdout + "\n" + result.stderr)
        done = out / RESULT
        if result.exit_code != 0 or not done.is_file():
            why = ("timed out" if result.timed_out else f"exited with code {result.exit_code}")
            await asyncio.to_thread(_record_failure, base, (
                f"installing the project failed: its build ({backend}) {why}; "
                f"fix its build or set install_project to false in its settings\n"
                + _tail(log)))
            return
        built = json.loads(done.read_text())
        await asyncio.to_thread(_keep, base, ws, out / str(built["wheel"]), str(built["mode"]),
                                time.monotonic() - started)
    finally:
        await asyncio.to_thread(shutil.rmtree, ws, True)


def _record_failure(base: Path, error: str) -> None:
    base.mkdir(parents=True, exist_ok=True)
    (base / STATE).write_text(json.dumps({"state": "failed", "error": error}))


def _keep(base: Path, ws: Path, wheel: Path, mode: str, seconds: float) -> None:
    """Move the built tree and the wheel's site files into `base`, then mark it ready."""
    staging = base.with_name(base.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    project = ws / "project"
    _extract(wheel, staging / "site", str(project))
    shutil.move(str(project), staging / "tree")
    shutil.rmtree(base, ignore_errors=True)
    staging.rename(base)
    (base / STATE).write_text(json.dumps({"state": "ready", "mode": mode,
                                          "seconds": round(seconds, 3)}))


def _extract(wheel: Path, site: Path, build_dir: str) -> None:
    """Unpack the wheel's files safely; write the build directory's path as the placeholder.

    The wheel comes out of the sandbox, so its member names are checked (no absolute
    paths, no `..`) and its size is bounded before anything lands on disk.
    """
    site.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > MAX_SITE_BYTES:
            raise ProjectBuildError(f"the project's wheel unpacks to over {MAX_SITE_BYTES} bytes")
        for member in members:
            name = PurePosixPath(member.filename)
            if name.is_absolute() or ".." in name.parts or member.is_dir():
                continue
            data = archive.read(member)
            if name.suffix in (".pth", ".py") and len(name.parts) == 1:
                data = data.replace(build_dir.encode(), PLACEHOLDER.encode())
            target = site.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def lay_site(site: Path, dest: Path, project: Path) -> None:
    """Copy an install's site files into a job's workspace, pointing them at `project`."""
    shutil.copytree(site, dest)
    for path in dest.iterdir():
        if path.is_file() and path.suffix in (".pth", ".py"):
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            if PLACEHOLDER in text:
                path.write_text(text.replace(PLACEHOLDER, str(project)),
                                encoding="utf-8", errors="surrogateescape")


SITECUSTOMIZE = """\
import site
import sys

_before = set(sys.path)
site.addsitedir({site!r})
_ours = [p for p in sys.path if p not in _before]
_rest = [p for p in sys.path if p in _before]
_packages = set(getattr(site, "getsitepackages", list)())
_at = next((i for i, p in enumerate(_rest) if p in _packages), len(_rest))
sys.path[:] = _rest[:_at] + _ours + _rest[_at:]
del _before, _ours, _rest, _packages, _at
"""
"""Makes a job's site dir a real site directory, so its `.pth` files are processed, and
puts it (with the paths its `.pth` files add) just before the environment's
site-packages: as if the project were installed there.

The environment may hold the registry's copy of the project itself, pulled in by a
test tool that depends on it (pluggy, packaging and iniconfig are pytest's; a test
dependency's dependency): `pip install -e .` would replace that copy, and
`importlib.metadata` would find the project's version and entry points. Appended
after site-packages, as `addsitedir` does, the project's own metadata came second.
"""
