"""Choosing and describing the isolation a sandboxed run gets.

Two levels exist. `bwrap` (bubblewrap) gives a PID namespace that dies with its
parent, no network, a read-only view of the system and only the workspace
writable. `process` is what is left without it: a session of its own under a
reaper, rlimits, an unprivileged uid when we are root, and (as root) a private
network namespace. `auto` picks the strongest one available.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

BWRAP = "/usr/bin/bwrap"
MODES = ("auto", "bwrap", "process")


class SandboxUnavailable(RuntimeError):
    """The isolation asked for cannot be provided on this machine."""


def bwrap_path() -> str | None:
    """Where bubblewrap lives, preferring the system copy over anything on PATH."""
    if Path(BWRAP).is_file():
        return BWRAP
    return shutil.which("bwrap")


def resolve_isolation(mode: str) -> str:
    """Turn a configured mode into the one that will actually run.

    Asking for `bwrap` explicitly on a machine without it is an error rather than
    a silent downgrade: the operator asked for a guarantee we cannot give.
    """
    if mode not in MODES:
        raise ValueError(f"unknown isolation mode {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "process":
        return "process"
    if bwrap_path() is not None:
        return "bwrap"
    if mode == "bwrap":
        raise SandboxUnavailable(
            "isolation 'bwrap' was requested but bubblewrap is not installed "
            "(install the 'bubblewrap' package or use isolation 'auto'/'process')"
        )
    return "process"


def bwrap_argv(
    argv: Sequence[str], *, workspace: Path, readonly_paths: Sequence[Path], cwd: Path | None = None
) -> list[str]:
    """Wrap `argv` in a bubblewrap invocation.

    Paths are bound at the same place inside so argv, PYTHONPATH and tracebacks
    read the same in and out. Order matters: bwrap applies mounts in sequence, so
    the fresh /tmp comes before read-only binds (which may live under /tmp), and
    the writable workspace comes last so nothing shadows it.
    """
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is not installed")
    cmd = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--ro-bind", "/", "/",
        "--proc", "/proc",
        "--dev", "/dev",
        "--tmpfs", "/tmp",
        "--tmpfs", "/var/tmp",
    ]
    for path in readonly_paths:
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--bind", str(workspace), str(workspace), "--chdir", str(cwd or workspace), "--"]
    return cmd + list(argv)
