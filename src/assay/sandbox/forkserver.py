"""A long-lived sandboxed process that forks one child per run: the host's side.

The process (the warm runner, `assay.runner._warm_main`) is started once, under
the same reaper, bubblewrap view and uid as any sandboxed run, with one
directory (`home`) writable: every run's workspace is created inside it, and
only one run is in it at a time, so a run sees no other run's files. A run
hands the process three fresh pipes (stdout, stderr, the report channel) over a
SOCK_SEQPACKET socket and waits for its exit status; cancel and timeouts ask
the process to kill the run's whole tree, and when the process does not answer
it is killed itself and the run ends as a cold run would on a kill.

Only bubblewrap isolation is served this way: in `process` mode a shared,
long-lived process would share the host's /tmp and network namespace set-up
between runs, so those runs stay cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assay.sandbox.environ import scrubbed_env
from assay.sandbox.identity import Identity, count_processes, hand_over, lease_identity
from assay.sandbox.isolation import bwrap_argv
from assay.sandbox.limits import Limits
from assay.sandbox.output import TailBuffer
from assay.sandbox.process import (
    REAPER,
    REPORT_FD,
    TERMINATE_GRACE_S,
    SandboxResult,
    drain,
    pump,
    read_report,
    terminate,
    wait_exit,
)
from assay.sandbox.view import View, sandbox_readable

CONTROL_FD = 3
READY_TIMEOUT_S = 60.0
MESSAGE_LIMIT = 1 << 20


class ForkServerError(RuntimeError):
    """The fork server could not start, or stopped answering: run cold instead."""


@dataclass
class Ready:
    """What the fork server said when it was ready."""

    pid: int
    threads: int
    modules: frozenset[str]


@dataclass
class ForkServer:
    """One started fork server and the run it is serving (at most one)."""

    home: Path
    proc: asyncio.subprocess.Process
    control: socket.socket
    ready: Ready
    identity: Identity
    """The uid it and every child run as, leased for its whole life (see `close`)."""
    _lease: contextlib.ExitStack
    runs: int = 0
    _exits: dict[str, asyncio.Future[int]] = field(default_factory=dict)
    _reader: asyncio.Task[None] | None = None
    _stderr_pump: asyncio.Task[None] | None = None
    _stderr: TailBuffer = field(default_factory=lambda: TailBuffer(16 << 10))

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and self._reader is not None and \
            not self._reader.done()

    @classmethod
    async def start(
        cls, argv: Sequence[str], *, home: Path, readonly_paths: Sequence[Path],
        env: dict[str, str] | None = None,
    ) -> ForkServer:
        """Start `argv` (the fork server's program) sandboxed, and wait until it is ready."""
        lease = contextlib.ExitStack()
        identity = lease.enter_context(lease_identity("bwrap"))
        try:
            return await cls._start(argv, home, readonly_paths, env, identity, lease)
        except BaseException:
            lease.close()
            raise

    @classmethod
    async def _start(
        cls, argv: Sequence[str], home: Path, readonly_paths: Sequence[Path],
        env: dict[str, str] | None, identity: Identity, lease: contextlib.ExitStack,
    ) -> ForkServer:
        home = await asyncio.to_thread(_make_home, home, identity)
        readable = sandbox_readable([*readonly_paths, *_program(argv[0])])
        view = View(workspace=home, readonly=tuple(readable), cwd=home)
        command = bwrap_argv(list(argv), view=view, identity=identity)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {
            "argv": command, "cwd": str(home), "env": scrubbed_env(home, env),
            "uid": None, "gid": None, "rlimits": [],
            "fd_map": [[theirs.fileno(), CONTROL_FD]], "private_net": False,
            "parent": os.getpid(),
        }
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-S", str(REAPER), json.dumps(config),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, start_new_session=True,
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        mine.setblocking(False)
        loop = asyncio.get_running_loop()
        stderr = TailBuffer(16 << 10)
        assert proc.stderr is not None
        stderr_pump = asyncio.create_task(pump(proc.stderr, stderr))
        try:
            data = await asyncio.wait_for(loop.sock_recv(mine, MESSAGE_LIMIT), READY_TIMEOUT_S)
            message = json.loads(data) if data else {}
            if message.get("op") != "ready":
                raise ForkServerError(f"the warm runner did not start: {stderr.text()[-2000:]}")
        except (TimeoutError, ValueError, OSError) as exc:
            await terminate(proc)
            mine.close()
            await asyncio.gather(stderr_pump, return_exceptions=True)
            raise ForkServerError(f"the warm runner did not start ({exc!r}): "
                                  f"{stderr.text()[-2000:]}") from exc
        except BaseException:
            await terminate(proc)
            mine.close()
            raise
        ready = Ready(pid=int(message["pid"]), threads=int(message["threads"]),
                      modules=frozenset(message["modules"]))
        server = cls(home=home, proc=proc, control=mine, ready=ready, identity=identity,
                     _lease=lease, _stderr=stderr, _stderr_pump=stderr_pump)
        server._reader = asyncio.create_task(server._read_control())
        return server

    async def _read_control(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await loop.sock_recv(self.control, MESSAGE_LIMIT):
                message = json.loads(data)
                if message.get("op") == "exit":
                    future = self._exits.get(message["job"])
                    if future is not None and not future.done():
                        future.set_result(int(message["status"]))
        except (OSError, ValueError):
            pass
        finally:
            for future in self._exits.values():
                if not future.done():
                    future.set_exception(ForkServerError("the warm runner stopped"))

    async def run(
        self, run_id: str, *, argv: list[str], workspace: Path, cwd: Path,
        env: dict[str, str], path: list[str], site: Path | None, limits: Limits,
        on_report_line: Callable[[str], None], cancel: asyncio.Event | None = None,
    ) -> SandboxResult:
        """Run `argv` (pytest's arguments) in a child, as `run_sandboxed` would run it cold.

        `workspace` must lie in `home`. Raises ForkServerError when the server is
        gone before the run could start; once started, a run always ends in a result.
        """
        if not self.alive:
            raise ForkServerError("the warm runner is not running")
        workspace, nproc_base = await asyncio.to_thread(_hand_over, workspace, self.identity)
        if self.home not in workspace.parents:
            raise ValueError(f"workspace {workspace} is outside the warm runner's {self.home}")
        request = {
            "op": "run", "job": run_id, "argv": argv, "cwd": str(cwd),
            "env": scrubbed_env(workspace, env), "path": path,
            "site": str(site) if site else None,
            "rlimits": limits.rlimits(nproc_base=nproc_base),
        }
        loop = asyncio.get_running_loop()
        exit_future: asyncio.Future[int] = loop.create_future()
        self._exits[run_id] = exit_future
        pipes = [os.pipe() for _ in range(3)]
        started = time.monotonic()
        try:
            socket.send_fds(self.control, [json.dumps(request).encode()],
                            [w for _, w in pipes])
        except OSError as exc:
            for r, w in pipes:
                os.close(r)
                os.close(w)
            del self._exits[run_id]
            raise ForkServerError(f"the warm runner is not answering: {exc}") from exc
        for _, w in pipes:
            os.close(w)
        self.runs += 1
        out = TailBuffer(limits.output_bytes)
        err = TailBuffer(limits.output_bytes)
        readers = [asyncio.create_task(_pump_fd(pipes[0][0], out)),
                   asyncio.create_task(_pump_fd(pipes[1][0], err)),
                   asyncio.create_task(read_report(pipes[2][0], on_report_line))]
        timed_out = cancelled = False
        status: int | None = None
        try:
            status, timed_out, cancelled = await self._wait(
                run_id, exit_future, limits.wall_seconds, cancel)
        finally:
            self._exits.pop(run_id, None)
            await drain(readers)
        return SandboxResult(exit_code=status, timed_out=timed_out, cancelled=cancelled,
                             stdout=out.text(), stderr=err.text(),
                             duration_s=time.monotonic() - started, isolation="bwrap")

    async def _wait(
        self, run_id: str, exit_future: asyncio.Future[int], wall_seconds: float,
        cancel: asyncio.Event | None,
    ) -> tuple[int | None, bool, bool]:
        timed_out, cancelled = await wait_exit(exit_future, wall_seconds, cancel)
        if not (timed_out or cancelled):
            try:
                return exit_future.result(), False, False
            except ForkServerError:
                return -int(signal.SIGKILL), False, False
        with contextlib.suppress(OSError):
            self.control.send(json.dumps({"op": "kill", "job": run_id}).encode())
        try:
            status = await asyncio.wait_for(asyncio.shield(exit_future), TERMINATE_GRACE_S)
        except (TimeoutError, ForkServerError):
            await self.close()  # it does not answer: its whole tree goes
            status = -int(signal.SIGKILL)
        return status, timed_out, cancelled

    async def close(self) -> None:
        """Stop the server and every process below it.

        The control socket is closed last: closing it under a pending `sock_recv`
        would leave the reader waiting on a descriptor the loop no longer watches. The
        uid is given back once no process of the server's can be left to hold it.
        """
        await terminate(self.proc)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._stderr_pump is not None:
            await asyncio.gather(self._stderr_pump, return_exceptions=True)
        with contextlib.suppress(OSError):
            self.control.close()
        self._lease.close()

    def stderr_tail(self) -> str:
        return self._stderr.text()


def _make_home(home: Path, identity: Identity) -> Path:
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o755)  # ours: as root, a run cannot leave files here for the next one
    for sub in (".home", ".tmp"):
        (home / sub).mkdir(exist_ok=True)
        hand_over(home / sub, identity)
    return home


def _program(program: str) -> list[Path]:
    return [Path(program)] if os.path.isabs(program) else []


def _hand_over(workspace: Path, identity: Identity) -> tuple[Path, int]:
    """Blocking set-up of a run's workspace, off the loop: resolved, the sandbox's, and
    how many processes its uid runs now (for RLIMIT_NPROC)."""
    workspace = workspace.resolve()
    for sub in (".home", ".tmp"):
        (workspace / sub).mkdir(exist_ok=True)
    hand_over(workspace, identity)
    owner = identity.uid if identity.uid is not None else os.getuid()
    return workspace, count_processes(owner)


async def _pump_fd(fd: int, sink: TailBuffer) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", 0))
    try:
        while chunk := await reader.read(1 << 16):
            sink.feed(chunk)
        sink.close()
    finally:
        transport.close()


__all__ = ["REPORT_FD", "ForkServer", "ForkServerError", "Ready"]
