"""Warm runners: one fork server per environment, so a job pays no interpreter start-up.

A warm runner (`_warm_main.py`, started through `assay.sandbox.forkserver`) has
imported pytest, Assay's plugin and the environment's pytest plugins, and forks
a child per pytest invocation. It is started on an environment's first job and
kept while that environment is unchanged; it is restarted when the environment
is rebuilt, after `max_runs` runs, or when it misbehaves, and a job runs cold
(`python -m pytest`, as before) whenever a warm start is impossible or unsafe:

- the project provides a module the runner has already imported (the project is
  pytest itself, or a dependency of a pytest plugin, such as `packaging`): its
  tests must import the snapshot's code, not the environment's copy;
- the environment's plugins started a thread at import (a fork would copy a
  process whose other threads are gone);
- the sandbox is not bubblewrap, the runner does not start, or it stops answering.

Each run records which start it had, and why a job went cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.machinery
import itertools
import logging
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from assay.environments.runner_plugins import disable_args
from assay.runner.copy_ahead import CopyAhead
from assay.runner.pytest_cmd import environment_root
from assay.runner.workspace import PLUGIN_SOURCE, Workspace, safe_name
from assay.sandbox.forkserver import ForkServer, ForkServerError
from assay.sandbox.process import REAPER

log = logging.getLogger(__name__)

RUNNER_FILES = (Path(__file__).with_name("_warm_main.py"), PLUGIN_SOURCE, REAPER)
"""Copied beside each runner's home and bound read-only: the sandbox sees these
files, not the directory Assay is installed in (which may be someone's home)."""
START_FAILED = 198
"""The exit code of a warm child that could not become the job (see `_warm_main`)."""
PROJECT_SCAN_DEPTH = 2
MODULE_SUFFIXES = tuple(sorted({*importlib.machinery.SOURCE_SUFFIXES,
                                *importlib.machinery.EXTENSION_SUFFIXES, ".pyc"},
                               key=len, reverse=True))
"""What a file must end with to be imported as a module (longest first: `.abi3.so`
before `.so`)."""


@dataclass(frozen=True)
class _Identity:
    """What makes a started runner stale: its environment was rebuilt in place."""

    python: str
    inode: int
    mtime_ns: int


def _identity(python: Path) -> _Identity:
    cfg = python.parent.parent / "pyvenv.cfg"
    try:
        st = cfg.stat()
    except OSError:
        return _Identity(str(python), 0, 0)
    return _Identity(str(python), st.st_ino, st.st_mtime_ns)


class WarmRunners:
    """The warm runners of one process (a server's local executor, a Celery worker).

    Environments are leased exclusively (one job per environment copy at a
    time), so one runner per environment copy serves every job that lands in it.
    """

    def __init__(self, home_root: Path, *, enabled: bool = True, max_runs: int = 1000) -> None:
        self.home_root = home_root
        self.enabled = enabled
        self.max_runs = max_runs
        self._runners: dict[str, _Runner] = {}
        self._swept = False
        self._locks: dict[str, asyncio.Lock] = {}
        self._failed: dict[_Identity, str] = {}
        self._starts = itertools.count()

    @contextlib.asynccontextmanager
    async def lease(self, python: Path, isolation: str) -> AsyncIterator[ForkServer | str]:
        """The runner for `python`, held for one job; or why this job runs cold."""
        if not self.enabled:
            yield "warm runners are turned off (ASSAY_WARM_RUNNERS=0)"
            return
        if isolation != "bwrap":
            yield f"warm runners need bubblewrap isolation, not {isolation!r}"
            return
        key = str(python)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            server = await self._ready(python)
            try:
                yield server
            finally:
                if isinstance(server, ForkServer):
                    await asyncio.to_thread(_clear_home, server.home)

    async def _ready(self, python: Path) -> ForkServer | str:
        key = str(python)
        identity = _identity(python)
        runner = self._runners.get(key)
        if runner is not None and (not runner.server.alive or runner.identity != identity
                                   or runner.server.runs >= self.max_runs):
            await self.discard(python)
            runner = None
        if runner is not None:
            return runner.server
        if identity in self._failed:
            return self._failed[identity]
        # Unique per start: two copies of one environment are both "venv", and runners
        # start concurrently (one lock per environment copy), so no count of the started.
        home = self.home_root / f"warm-{safe_name(python.parent.parent.name)}-{os.getpid()}-" \
            f"{next(self._starts)}"
        runner_dir = _runner_dir(home)
        if not self._swept:
            self._swept = True
            await asyncio.to_thread(sweep_abandoned, self.home_root)
        owned = await asyncio.to_thread(_own, home)
        await asyncio.to_thread(_install_runner, home, runner_dir)
        try:
            server = await ForkServer.start(
                [str(python), "-s", str(runner_dir / "_warm_main.py"), str(runner_dir),
                 str(home / ".tmp" / "warm-up"), *disable_args(python)], home=home,
                readonly_paths=[*environment_root(python), runner_dir])
        except ForkServerError as exc:
            await asyncio.to_thread(_disown, home, owned)
            reason = f"the warm runner did not start: {exc}"
            log.warning("%s", reason)
            self._failed[identity] = reason[:2000]
            return self._failed[identity]
        if server.ready.threads > 1:
            await server.close()
            await asyncio.to_thread(_remove_runner, home, owned)
            reason = ("the environment's pytest plugins start threads when imported, so a "
                      "forked copy would be unsafe")
            self._failed[identity] = reason
            return reason
        self._runners[key] = _Runner(server, identity, CopyAhead(_copies_dir(home)), owned)
        return server

    async def discard(self, python: Path) -> None:
        """Stop the runner for `python` (it failed a job, or its environment changed)."""
        runner = self._runners.pop(str(python), None)
        if runner is not None:
            await runner.close()

    def copies(self, python: Path) -> CopyAhead | None:
        """Where the runner for `python` keeps its next job's copy of the project."""
        runner = self._runners.get(str(python))
        return runner.copies if runner is not None else None

    def server_pid(self, python: Path) -> int | None:
        """The host pid of the process tree serving `python` now (its reaper), if any."""
        runner = self._runners.get(str(python))
        return runner.server.proc.pid if runner is not None and runner.server.alive else None

    async def close(self) -> None:
        for key in list(self._runners):
            await self.discard(Path(key))


@dataclass
class _Runner:
    """A started warm runner and what is its alone: the environment state it started
    on, its next job's copy of the project, and the lock that says it is alive."""

    server: ForkServer
    identity: _Identity
    copies: CopyAhead
    lock_fd: int

    async def close(self) -> None:
        await asyncio.to_thread(self.copies.close)
        await self.server.close()
        await asyncio.to_thread(_remove_runner, self.server.home, self.lock_fd)


def _runner_dir(home: Path) -> Path:
    return home.with_name(home.name + ".runner")


def _lock_file(home: Path) -> Path:
    return home.with_name(home.name + ".lock")


def _own(home: Path) -> int:
    """Hold `<home>.lock` for the runner's life: what tells a live runner's directories
    from those of a process that died without removing them (pids do not tell, across
    the PID namespaces of containers sharing one workspaces dir)."""
    home.parent.mkdir(parents=True, exist_ok=True)
    # Locked under a name no sweep looks at, then renamed: a sweep never sees it free.
    fresh = home.with_name(f".{home.name}.lock-new")
    fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(fresh, _lock_file(home))
    return fd


def _disown(home: Path, fd: int | None) -> None:
    with contextlib.suppress(OSError):
        _lock_file(home).unlink()
    if fd is not None:
        os.close(fd)


def _remove_runner(home: Path, fd: int | None) -> None:
    """The runner's home, its files, its copy ahead, then its lock: in that order, so a
    sweep that finds the lock free finds nothing of it still in use."""
    for path in (home, _runner_dir(home), _copies_dir(home)):
        shutil.rmtree(path, ignore_errors=True)
    _disown(home, fd)


def sweep_abandoned(home_root: Path) -> list[Path]:
    """Remove the directories of warm runners whose process died without removing them
    (a crash, a SIGKILL): each holds a project copy or more, and nothing else would.
    A runner whose lock is still held is alive and left alone. Returns the homes removed.
    """
    removed = []
    with contextlib.suppress(OSError):
        for lock in home_root.glob("warm-*.lock"):
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # held: its runner is alive
                continue
            home = lock.with_name(lock.name.removesuffix(".lock"))
            _remove_runner(home, fd)
            removed.append(home)
    return removed


def _copies_dir(home: Path) -> Path:
    """Beside the home, not in it: no job in the sandbox can see the next one's copy."""
    return home.with_name(home.name + ".next")


def _install_runner(home: Path, runner_dir: Path) -> None:
    """A fresh home and a fresh copy of the runner's files (world-readable, ours)."""
    for path in (home, runner_dir):
        shutil.rmtree(path, ignore_errors=True)
    runner_dir.mkdir(parents=True, mode=0o755)
    runner_dir.chmod(0o755)
    for source in RUNNER_FILES:
        target = runner_dir / source.name
        shutil.copyfile(source, target)
        target.chmod(0o644)


def _clear_home(home: Path) -> None:
    """Remove what a job left in the runner's directory besides its workspace.

    As root the directory is not the sandbox's to write in; as another user it is
    (one uid for all), and nothing one job leaves may reach the next.
    """
    with contextlib.suppress(OSError):
        for entry in os.scandir(home):
            if entry.name not in (".home", ".tmp"):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


def project_names(ws: Workspace) -> set[str]:
    """Top-level import names the job's project could provide, generously counted.

    Every directory (a package, or a namespace package) and Python module in the
    project's top levels (and one level down, for `src/`, `lib/` and similar
    layouts, and the test folders pytest puts on sys.path), plus what its site
    files name: a false positive costs a cold start, a miss would run the
    environment's copy of the project's code. Other files are not importable:
    humanize's `docs/time.md` once sent its every job cold.
    """
    names: set[str] = set()
    roots = [ws.project]
    for depth in range(PROJECT_SCAN_DEPTH):
        below: list[Path] = []
        for root in roots:
            with contextlib.suppress(OSError):
                for entry in os.scandir(root):
                    is_dir = entry.is_dir(follow_symlinks=True)
                    name = _import_name(entry.name, is_dir)
                    if name is None:
                        continue
                    names.add(name)
                    if depth == 0 and is_dir and not entry.is_symlink():
                        below.append(Path(entry.path))
        roots = below
    site = ws.plugin_dir / "site"
    with contextlib.suppress(OSError):
        for entry in os.scandir(site):
            names.add(entry.name.split(".", 1)[0].split("-", 1)[0])
            if entry.name.endswith(".dist-info"):
                top = Path(entry.path) / "top_level.txt"
                with contextlib.suppress(OSError):
                    names.update(top.read_text("utf-8").split())
    return names


def _import_name(entry: str, is_dir: bool) -> str | None:
    """The name `import` would find `entry` by, or None when it is not importable."""
    if is_dir:
        name = entry
    else:
        suffix = next((s for s in MODULE_SUFFIXES if entry.endswith(s)), None)
        if suffix is None:
            return None
        name = entry[: -len(suffix)]
    return name if name.isidentifier() else None


def unsafe_reason(server: ForkServer, ws: Workspace) -> str | None:
    """Why `ws`'s job must not run in `server`, or None when a warm start is safe."""
    clash = sorted(project_names(ws) & server.ready.modules)
    if clash:
        return (f"the project provides {', '.join(clash[:5])}, which the warm runner has "
                "already imported")
    return None
