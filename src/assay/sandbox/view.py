"""The filesystem a sandboxed process sees under bubblewrap, built up from nothing.

The view starts empty (bwrap's new root is a tmpfs) and gets only what a test
needs: the system's programs and libraries (`/usr` and the usual links into it),
a short list of system configuration files, fresh `/proc`, `/dev`, `/tmp`, the
interpreter and environment read-only, and the job's workspace writable. Home
directories, Assay's data dir (its secret key, database, other jobs' workspaces)
and everything else on the host simply do not exist inside.

Every bind lands at the same path it has on the host, so argv, PYTHONPATH, a
venv's symlink to its base interpreter and tracebacks read the same in and out.
The directories above a bind are created inside the namespace with mode 0755:
whatever the host's modes (a 0700 `/root` holding a pyenv, a `mkdtemp` data
dir), the sandbox uid can reach what was bound. bwrap opens the sources with
the server's own rights, before the sandboxed code drops to its uid.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_DIRS = ("/usr",)
"""Bound read-only: programs, shared libraries, zoneinfo, CA certificates' store."""

MERGED_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
"""Top-level names that are links into /usr on merged-/usr systems, dirs elsewhere."""

SYSTEM_FILES = (
    "/etc/alternatives",
    "/etc/ca-certificates",
    "/etc/group",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/mime.types",
    "/etc/nsswitch.conf",
    "/etc/os-release",
    "/etc/passwd",
    "/etc/protocols",
    "/etc/services",
    "/etc/ssl",
    "/etc/timezone",
    "/sys/devices/system/cpu",
)
"""Configuration a test may legitimately read: names, locale and time, TLS roots.

A list, not all of /etc minus the secrets: what a host keeps in /etc (service
credentials, an operator's env file for Assay itself) is unknowable from here.
"""


@dataclass(frozen=True)
class View:
    """What a sandboxed run may see besides the system: read-only binds and its workspace."""

    workspace: Path
    readonly: tuple[Path, ...] = field(default_factory=tuple)
    cwd: Path | None = None

    def binds(self) -> list[tuple[str, Path]]:
        """(kind, path) pairs in mount order; kind is "ro" or "rw".

        Nested paths are bound parent first, so a read-only environment inside a
        read-only data tree stays reachable; the workspace comes last so nothing
        shadows it.
        """
        ro = sorted(_dedupe(self.readonly), key=lambda p: len(p.parts))
        return [("ro", p) for p in ro] + [("rw", self.workspace)]


def _dedupe(paths: Iterable[Path]) -> list[Path]:
    """Absolute, existing paths with those already covered by another one dropped."""
    absolute = sorted({Path(os.path.abspath(p)) for p in paths if Path(p).exists()})
    kept: list[Path] = []
    for path in absolute:
        if any(path.is_relative_to(parent) for parent in kept):
            continue
        if any(path.is_relative_to(system) for system in SYSTEM_DIRS):
            continue
        kept.append(path)
    return kept


def _ancestors(paths: Iterable[Path]) -> list[Path]:
    """Every directory above `paths`, outermost first, without duplicates or `/`."""
    seen: dict[Path, None] = {}
    for path in paths:
        for parent in reversed(path.parents):
            if parent != Path("/"):
                seen.setdefault(parent, None)
    return sorted(seen, key=lambda p: (len(p.parts), str(p)))


def _system_args() -> list[str]:
    args: list[str] = []
    for name in SYSTEM_DIRS:
        args += ["--ro-bind", name, name]
    for name in MERGED_LINKS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    # The directories that hold them are made here, world-readable: left to bwrap, they
    # are created with the server's umask, and as root that can be 0700 — an /etc that
    # the sandbox's uid cannot enter, so no passwd, no TLS roots, no local time.
    for parent in _ancestors(Path(name) for name in SYSTEM_FILES if os.path.exists(name)):
        args += ["--perms", "0755", "--dir", str(parent)]
    for name in SYSTEM_FILES:
        args += ["--ro-bind-try", name, name]
    return [*args, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]


def bwrap_view_args(view: View) -> list[str]:
    """bwrap arguments that build `view`: system, parents at 0755, binds, working directory."""
    binds = view.binds()
    args = _system_args()
    covered = {Path(p) for p in ("/tmp", "/var/tmp", "/proc", "/dev")}
    for parent in _ancestors(path for _, path in binds):
        if parent in covered or any(parent.is_relative_to(s) for s in SYSTEM_DIRS):
            continue
        args += ["--perms", "0755", "--dir", str(parent)]
    for kind, path in binds:
        args += ["--ro-bind" if kind == "ro" else "--bind", str(path), str(path)]
    return [*args, "--chdir", str(view.cwd or view.workspace)]


def interpreter_paths(python: Path) -> list[Path]:
    """What running `python` needs besides the system: its venv and its base prefix.

    A venv's `bin/python` is a link to the base interpreter; the base prefix holds
    the standard library (and, for a pyenv build, `libpython`). Both are resolved
    here so the caller binds them; system interpreters under /usr need nothing.
    """
    found: list[Path] = []
    python = Path(os.path.abspath(python))
    venv = python.parent.parent
    if (venv / "pyvenv.cfg").exists():
        found.append(venv)
    real = Path(os.path.realpath(python))
    prefix = real.parent.parent
    if (prefix / "lib").is_dir() and prefix != Path("/"):
        found.append(prefix)
    else:
        found.append(real)
    return found


def sandbox_readable(paths: Sequence[Path]) -> list[Path]:
    """`paths` plus what any interpreter among them needs (see `interpreter_paths`)."""
    out: list[Path] = []
    for path in paths:
        out.append(Path(path))
        if Path(path).is_file() and os.access(path, os.X_OK):
            out += interpreter_paths(Path(path))
    return out
