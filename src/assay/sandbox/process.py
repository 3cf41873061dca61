"""Running one command in the sandbox and collecting what it did.

The command is started under `_reaper.py` (a trusted stdlib-only process) in a
session of its own. The reaper, not this process, owns the tree: it applies the
rlimits, drops to the sandbox uid, and on SIGTERM kills every descendant,
including those that called setsid(). That is what makes timeout and cancel
exact in `process` mode; in `bwrap` mode the PID namespace does it a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assay.sandbox.environ import scrubbed_env
from assay.sandbox.identity import (
    Identity,
    check_readable,
    count_processes,
    hand_over,
    lease_identity,
)
from assay.sandbox.isolation import bwrap_argv, resolve_isolation
from assay.sandbox.limits import Limits
from assay.sandbox.output import TailBuffer
from assay.sandbox.view import View, sandbox_readable

REAPER = Path(__file__).with_name("_reaper.py")
REPORT_FD = 3
"""File descriptor on which the sandboxed command finds the report pipe."""

TERMINATE_GRACE_S = 5.0
REPORT_LINE_LIMIT = 32 << 20


@dataclass
class SandboxResult:
    """How a sandboxed run ended. `stdout`/`stderr` are tails of at most `output_bytes`."""

    exit_code: int | None
    timed_out: bool
    cancelled: bool
    stdout: str
    stderr: str
    duration_s: float
    isolation: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def run_sandboxed(
    argv: list[str],
    *,
    workspace: Path,
    limits: Limits,
    isolation: str = "auto",
    readonly_paths: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    on_stdout_line: Callable[[str], None] | None = None,
    cancel: asyncio.Event | None = None,
    on_report_line: Callable[[str], None] | None = None,
    cwd: Path | None = None,
) -> SandboxResult:
    """Run `argv` with cwd `workspace` (which becomes the sandbox's to write) under `limits`.

    `readonly_paths` are what the command needs to read besides the system
    (environment, snapshot); they are checked up front. `on_report_line`, when
    given, receives the lines the command writes to fd `REPORT_FD`: a channel
    separate from stdout that test output cannot interleave with. `cwd` (default:
    the workspace) must lie inside the workspace.
    """
    mode = resolve_isolation(isolation)
    with lease_identity(mode) as identity:  # held until the run ends
        workspace, cwd, nproc_base = await asyncio.to_thread(
            _prepare, workspace, cwd, readonly_paths, argv[0], identity, mode
        )
        command = list(argv)
        launcher = identity
        if mode == "bwrap":
            readable = sandbox_readable([*readonly_paths, *_program(argv[0])])
            view = View(workspace=workspace, readonly=tuple(readable), cwd=cwd)
            command = bwrap_argv(argv, view=view, identity=identity)
            launcher = Identity(None, None)  # bwrap binds as us, then drops (see bwrap_argv)
        report_r, report_w = os.pipe() if on_report_line else (-1, -1)
        config = {
            "argv": command,
            "cwd": str(cwd),
            "env": scrubbed_env(workspace, env),
            "uid": launcher.uid,
            "gid": launcher.gid,
            "rlimits": limits.rlimits(nproc_base=nproc_base),
            "fd_map": [[report_w, REPORT_FD]] if on_report_line else [],
            "private_net": mode == "process" and os.geteuid() == 0,
            "parent": os.getpid(),
        }
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-S", str(REAPER), json.dumps(config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                pass_fds=(report_w,) if on_report_line else (),
            )
        finally:
            if on_report_line:
                os.close(report_w)
        out = TailBuffer(limits.output_bytes, on_stdout_line)
        err = TailBuffer(limits.output_bytes)
        assert proc.stdout is not None and proc.stderr is not None
        readers = [
            asyncio.create_task(pump(proc.stdout, out)),
            asyncio.create_task(pump(proc.stderr, err)),
        ]
        if on_report_line:
            readers.append(asyncio.create_task(read_report(report_r, on_report_line)))

        timed_out = cancelled = False
        try:
            timed_out, cancelled = await _wait(proc, limits.wall_seconds, cancel)
        except BaseException:
            terminate_now(proc)
            raise
        finally:
            await drain(readers)
        return SandboxResult(
            exit_code=proc.returncode,
            timed_out=timed_out,
            cancelled=cancelled,
            stdout=out.text(),
            stderr=err.text(),
            duration_s=time.monotonic() - started,
            isolation=mode,
        )


def _program(program: str) -> list[Path]:
    return [Path(program)] if os.path.isabs(program) else []


def _prepare(
    workspace: Path, cwd: Path | None, readonly_paths: Sequence[Path], program: str,
    identity: Identity, mode: str,
) -> tuple[Path, Path, int]:
    """Blocking set-up (file tree walks, /proc scan), run off the event loop.

    Only `process` isolation needs the paths to be reachable on the host by the
    sandbox uid; under bwrap they are bound in, whatever the modes above them.
    """
    workspace = workspace.resolve()
    cwd = (cwd or workspace).resolve()
    if cwd != workspace and workspace not in cwd.parents:
        raise ValueError(f"cwd {cwd} is outside the workspace {workspace}")
    for sub in (".home", ".tmp"):
        (workspace / sub).mkdir(exist_ok=True)
    hand_over(workspace, identity)
    if mode == "process":
        check_readable([workspace, *readonly_paths, *_program(program)], identity)
    owner = identity.uid if identity.uid is not None else os.getuid()
    return workspace, cwd, count_processes(owner)


async def wait_exit(
    exited: asyncio.Future[Any], wall_seconds: float, cancel: asyncio.Event | None
) -> tuple[bool, bool]:
    """Wait for `exited`, the wall-clock limit, or cancel, whichever is first.

    Returns (timed_out, cancelled); both False when `exited` is done. The caller
    stops the process otherwise (a cold one directly, a warm one through its server).
    """
    pending: set[asyncio.Future[Any]] = {exited}
    cancel_task = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    if cancel_task is not None:
        pending.add(cancel_task)
    try:
        await asyncio.wait(pending, timeout=wall_seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if cancel_task is not None:
            cancel_task.cancel()
    if exited.done():
        return False, False
    cancelled = cancel is not None and cancel.is_set()
    return not cancelled, cancelled


async def _wait(
    proc: asyncio.subprocess.Process, wall_seconds: float, cancel: asyncio.Event | None
) -> tuple[bool, bool]:
    """Wait for exit, the wall-clock limit, or cancel; return (timed_out, cancelled)."""
    timed_out, cancelled = await wait_exit(asyncio.ensure_future(proc.wait()), wall_seconds,
                                           cancel)
    if timed_out or cancelled:
        await terminate(proc)
    return timed_out, cancelled


def terminate_now(proc: asyncio.subprocess.Process) -> None:
    """Ask the reaper to kill the tree; it does so synchronously in its handler."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)


async def terminate(proc: asyncio.subprocess.Process) -> None:
    terminate_now(proc)
    try:
        await asyncio.wait_for(proc.wait(), TERMINATE_GRACE_S)
    except TimeoutError:
        # The reaper itself is stuck: take its session down the blunt way.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


async def pump(stream: asyncio.StreamReader, sink: TailBuffer) -> None:
    while chunk := await stream.read(1 << 16):
        sink.feed(chunk)
    sink.close()


async def read_report(fd: int, on_line: Callable[[str], None]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=REPORT_LINE_LIMIT)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", 0)
    )
    try:
        while line := await reader.readline():
            on_line(line.decode("utf-8", "replace").rstrip("\n"))
    finally:
        transport.close()


async def drain(readers: list[asyncio.Task[None]]) -> None:
    """Let the readers reach EOF; give up (and cancel) if a stray writer keeps a pipe open."""
    _, pending = await asyncio.wait(readers, timeout=TERMINATE_GRACE_S)
    for task in pending:
        task.cancel()
    for task in readers:
        with contextlib.suppress(asyncio.CancelledError):
            exc = task.exception() if task.done() and not task.cancelled() else None
            if exc is not None:
                raise exc
