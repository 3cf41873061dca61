"""EnvironmentPool: cached, leased environments shared by every job on this machine.

Layout: `<envs_dir>/<spec key>/<copy>/` holds `state.json` and `venv/`, plus a
lock file `<spec key>/<copy>.lock`. A lease is an exclusive `flock` on that
file, so two worker processes (or two coroutines) agree without a database:
whoever holds the lock owns the copy, builds it if needed, and runs jobs in it.
A second concurrent lease of the same spec takes the next copy (cheap with
uv's cache) up to `max_copies`, then waits. A crashed holder releases its lock
with its process, so nothing stays leased forever.

A lease is on every job's path, so once this process has seen a copy ready it
remembers that (and keeps the lock file open): the next lease of it is one
non-blocking `flock` on the loop, with no thread hop and no state file read, and
`last_used_at` is written at most once a minute. A lease that finds every copy
busy is woken by the release when the holder is in this process; only a copy
held by another process is retried on a short timer.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from assay.environments.builder import EnvironmentBuildError, build, tail
from assay.environments.spec import EnvSpec

STATE_FILE = "state.json"
LOG_FILE = "build.log"
TOUCH_EVERY_S = 60.0
"""`last_used_at` (what garbage collection reads) need not be finer than this."""
OTHER_PROCESS_RETRY_S = 0.1


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Environment:
    """A ready environment a job may run in while its lease is held."""

    key: str
    path: Path
    python: Path

    def install_dir(self, snapshot_hash: str) -> Path:
        """Where the project at `snapshot_hash` is installed for this environment's key.

        Beside the copies, not in one: every copy of a key shares the installs.
        """
        return self.path.parent.parent / "installs" / snapshot_hash


@dataclass
class EnvironmentInfo:
    key: str
    copy: int
    path: str
    state: str  # building | ready | failed | leased
    python_version: str | None = None
    requirements: list[str] = field(default_factory=list)
    created_at: str | None = None
    last_used_at: str | None = None
    size_bytes: int | None = None
    build_seconds: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _packages(venv: Path) -> list[dict[str, str]]:
    """name and version of every distribution installed in `venv`, from its dist-info."""
    found = []
    for dist in sorted(venv.glob("lib/python*/site-packages/*.dist-info")):
        name, _, version = dist.name[: -len(".dist-info")].partition("-")
        found.append({"name": name, "version": version})
    return found


def _try_lock(path: Path) -> IO[str] | None:
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _dir_size(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


class EnvironmentPool:
    def __init__(self, envs_dir: Path, max_copies: int = 4) -> None:
        self.envs_dir = envs_dir
        self.max_copies = max_copies
        self._ready: dict[Path, Environment] = {}
        """Copies this process has seen ready (by copy dir), with their lock files open."""
        self._handles: dict[Path, IO[str]] = {}
        self._busy: set[Path] = set()
        self._touched: dict[Path, float] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._guard = threading.Lock()

    @contextlib.asynccontextmanager
    async def lease(self, spec: EnvSpec) -> AsyncIterator[Environment]:
        """Hold one copy of `spec`'s environment, building it on first use."""
        key_dir = self.envs_dir / spec.key
        copy_dir = self._take_known(key_dir)
        if copy_dir is None:
            await asyncio.to_thread(self._make_dirs, key_dir)
            copy_dir = await self._acquire(key_dir)
        try:
            env = self._ready.get(copy_dir)
            if env is None:
                env = await asyncio.to_thread(self._ensure, spec, copy_dir)
                self._ready[copy_dir] = env
            yield env
        finally:
            if time.monotonic() - self._touched.get(copy_dir, -TOUCH_EVERY_S) >= TOUCH_EVERY_S:
                self._touched[copy_dir] = time.monotonic()
                await asyncio.to_thread(self._touch, copy_dir)
            self._release(copy_dir)

    @property
    def waiting(self) -> int:
        """Leases waiting now for a copy of their environment to be free."""
        return len(self._waiters)

    def _take_known(self, key_dir: Path) -> Path | None:
        """A copy of `key_dir` this process knows is ready, locked now; None if none is free."""
        for copy_dir, env in list(self._ready.items()):
            if copy_dir.parent != key_dir:
                continue
            if not env.python.exists():  # removed under us: the slow path rebuilds it
                del self._ready[copy_dir]
                continue
            if self._lock(copy_dir):
                return copy_dir
        return None

    def _lock(self, copy_dir: Path) -> bool:
        """Take `copy_dir`'s flock without blocking; the lock file stays open for next time.

        One open lock file per copy serves every lease here, and flock does not
        exclude holders of the same open file: `_busy` does, under a thread lock
        (a Celery worker's threads share this pool).
        """
        with self._guard:
            if copy_dir in self._busy:
                return False
            handle = self._handles.get(copy_dir)
            if handle is None:
                handle = (copy_dir.parent / f"{copy_dir.name}.lock").open("a+")
                self._handles[copy_dir] = handle
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self._busy.add(copy_dir)
            return True

    def _release(self, copy_dir: Path) -> None:
        with self._guard:
            fcntl.flock(self._handles[copy_dir], fcntl.LOCK_UN)
            self._busy.discard(copy_dir)
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    def list(self) -> builtins.list[EnvironmentInfo]:
        """Every environment copy on disk with its state, read from its state file."""
        infos: builtins.list[EnvironmentInfo] = []
        if not self.envs_dir.is_dir():
            return infos
        for key_dir in sorted(p for p in self.envs_dir.iterdir() if p.is_dir()):
            for copy_dir in sorted(p for p in key_dir.iterdir() if p.is_dir() and p.name.isdigit()):
                infos.append(self._info(key_dir.name, copy_dir))
        return infos

    def describe(self, key: str) -> dict[str, Any]:
        """For a person: the copies of `key`, its resolved packages, its build log's end,
        and the project installs built on it (newest first)."""
        key_dir = self.envs_dir / key
        copies = [i.to_dict() for i in self.list() if i.key == key]
        ready = next((c for c in copies if c["state"] in ("ready", "leased")), None)
        log = key_dir / str(copies[0]["copy"]) / LOG_FILE if copies else None
        installs = []
        installs_dir = key_dir / "installs"
        if installs_dir.is_dir():
            for state in sorted(installs_dir.glob("*/state.json"),
                                key=lambda p: p.stat().st_mtime, reverse=True)[:10]:
                data = self._read_json(state)
                log_file = state.parent.with_name(state.parent.name + ".build.log")
                installs.append({"snapshot": state.parent.name, **data,
                                 "log": tail(log_file) if log_file.is_file() else ""})
        return {
            "key": key,
            "copies": copies,
            "packages": _packages(Path(ready["path"])) if ready else [],
            "build_log": tail(log) if log is not None else "",
            "project_installs": installs,
        }

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return {}

    # -- internals -------------------------------------------------------------

    def _make_dirs(self, key_dir: Path) -> None:
        key_dir.mkdir(parents=True, exist_ok=True)
        for path in (self.envs_dir, key_dir):
            path.chmod(0o755)

    async def _acquire(self, key_dir: Path) -> Path:
        """Lock a free copy, ready ones first; wait for a release when every copy is held.

        A release in this process wakes the wait; a copy held by another process
        is tried again every OTHER_PROCESS_RETRY_S (flock has no notification).
        """
        while True:
            order = await asyncio.to_thread(self._copy_order, key_dir)
            for copy in order:
                copy_dir = key_dir / str(copy)
                if self._lock(copy_dir):
                    return copy_dir
            # No await since the last try: a release on this loop cannot slip in between.
            waiter = asyncio.get_running_loop().create_future()
            with self._guard:
                self._waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, OTHER_PROCESS_RETRY_S)
            with self._guard, contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _copy_order(self, key_dir: Path) -> builtins.list[int]:
        """Ready copies first, so a free built copy beats building a new one."""
        ready = [c for c in range(self.max_copies)
                 if self._read_state(key_dir / str(c)).get("state") == "ready"]
        return ready + [c for c in range(self.max_copies) if c not in ready]

    @staticmethod
    def _read_state(copy_dir: Path) -> dict[str, Any]:
        try:
            data = json.loads((copy_dir / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _write_state(copy_dir: Path, state: dict[str, Any]) -> None:
        tmp = copy_dir / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
        os.replace(tmp, copy_dir / STATE_FILE)

    def _ensure(self, spec: EnvSpec, copy_dir: Path) -> Environment:
        """Called with the copy's lock held: reuse it when ready, else build it now."""
        venv = copy_dir / "venv"
        python = venv / "bin" / "python"
        state = self._read_state(copy_dir)
        if state.get("state") == "ready" and python.exists():
            return Environment(key=spec.key, path=venv, python=python)
        copy_dir.mkdir(exist_ok=True)
        copy_dir.chmod(0o755)
        log = copy_dir / LOG_FILE
        log.write_text("", encoding="utf-8")
        base = {"key": spec.key, "python_version": spec.python_version,
                "requirements": spec.requirements, "created_at": _now()}
        self._write_state(copy_dir, {**base, "state": "building"})
        started = time.monotonic()
        try:
            python = build(venv, spec, self.envs_dir, log)
        except EnvironmentBuildError as exc:
            self._write_state(copy_dir, {**base, "state": "failed", "error": exc.log_tail})
            raise
        except Exception as exc:
            self._write_state(copy_dir, {**base, "state": "failed", "error": str(exc)})
            raise EnvironmentBuildError(f"building the environment failed: {exc}",
                                        tail(log)) from exc
        self._write_state(copy_dir, {
            **base, "state": "ready", "last_used_at": _now(),
            "build_seconds": round(time.monotonic() - started, 3),
            "size_bytes": _dir_size(venv),
        })
        return Environment(key=spec.key, path=venv, python=python)

    def _touch(self, copy_dir: Path) -> None:
        state = self._read_state(copy_dir)
        if state.get("state") == "ready":
            state["last_used_at"] = _now()
            self._write_state(copy_dir, state)

    def _info(self, key: str, copy_dir: Path) -> EnvironmentInfo:
        state = self._read_state(copy_dir)
        current = state.get("state", "building")
        handle = _try_lock(copy_dir.parent / f"{copy_dir.name}.lock")
        if handle is None:
            current = "building" if current == "building" else "leased"
        else:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
            if current == "building":
                current = "failed"  # its builder died mid-build; the next lease rebuilds it
        return EnvironmentInfo(
            key=key, copy=int(copy_dir.name), path=str(copy_dir / "venv"), state=current,
            python_version=state.get("python_version"),
            requirements=list(state.get("requirements", [])),
            created_at=state.get("created_at"), last_used_at=state.get("last_used_at"),
            size_bytes=state.get("size_bytes"), build_seconds=state.get("build_seconds"),
            error=state.get("error"),
        )
