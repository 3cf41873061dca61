"""Who the sandboxed code runs as, and whether that user can reach its files.

Root is exempt from RLIMIT_NPROC and can write anywhere, so a server running as
root drops sandboxed code to an unprivileged uid (65534, `nobody`). That uid has
no group memberships, so a path is reachable exactly when every ancestor is
world-searchable and the path itself world-readable. Checking the mode bits up
front turns an obscure ENOENT/EACCES inside pytest into an error that names the
directory to fix.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assay.errors import Unavailable

NOBODY = 65534


@dataclass(frozen=True)
class Identity:
    """The uid/gid the sandboxed process runs as; None means "stay as we are"."""

    uid: int | None
    gid: int | None

    @property
    def drops_privileges(self) -> bool:
        return self.uid is not None


class SandboxPathError(Unavailable, PermissionError):
    """A path the sandboxed code needs is not reachable by the sandbox uid."""


def sandbox_identity() -> Identity:
    """Drop to `nobody` when running as root, otherwise keep the current user."""
    if os.geteuid() == 0:
        return Identity(NOBODY, NOBODY)
    return Identity(None, None)


def count_processes(uid: int) -> int:
    """How many processes `uid` runs now (RLIMIT_NPROC counts them all)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


def _other_can(path: Path, bits: int) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return mode & bits == bits


def check_readable(paths: Iterable[Path], identity: Identity) -> None:
    """Raise SandboxPathError when the sandbox uid cannot read one of `paths`.

    Symlinks are resolved first: a venv's python is a link to the base
    interpreter, which must be reachable too.
    """
    if not identity.drops_privileges:
        return
    for raw in paths:
        path = Path(raw).resolve()
        if not path.exists():
            raise SandboxPathError(f"{raw} does not exist")
        for ancestor in reversed(path.parents):
            if not _other_can(ancestor, stat.S_IXOTH):
                raise SandboxPathError(
                    f"{raw} is not reachable by the sandbox uid {identity.uid}: "
                    f"{ancestor} is not world-searchable (mode "
                    f"{stat.filemode(ancestor.stat().st_mode)}). Keep Assay's data dir and "
                    "Python interpreters under world-searchable directories (chmod o+x)."
                )
        need = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        if not _other_can(path, need):
            raise SandboxPathError(
                f"{raw} is not readable by the sandbox uid {identity.uid} "
                f"(mode {stat.filemode(path.stat().st_mode)})"
            )


def hand_over(workspace: Path, identity: Identity) -> None:
    """Give the whole workspace to the sandbox uid so the code can write in it.

    Only the workspace: snapshots and environments stay owned by us and are
    read-only to the sandbox.
    """
    if not identity.drops_privileges:
        return
    assert identity.uid is not None and identity.gid is not None
    os.chown(workspace, identity.uid, identity.gid)
    for root, dirs, files in os.walk(workspace):
        for name in dirs + files:
            os.chown(os.path.join(root, name), identity.uid, identity.gid, follow_symlinks=False)
