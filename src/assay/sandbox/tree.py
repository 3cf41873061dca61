"""Where the files a sandboxed test must reach live, when no bind mount can bring them.

Under bubblewrap the workspace and the environment are bound into the sandbox
wherever they are. `process` isolation has no mounts: as root it runs the test as
`nobody`, which reaches a path only when every directory above it is
world-searchable. A data dir under a private home (root's `/root` is 0700) fails
that, and nobody should loosen their home's permissions for it. So in that one
case Assay keeps workspaces and environments in a tree of its own, outside the
data dir, that it creates with an owner and modes it checks: `/var/tmp/assay-<id>`,
root-owned and 0711 (traversable, not listable), unless `ASSAY_SANDBOX_DIR` names
another place. Nothing secret goes there: the secret key, the admin password and
the database stay in the data dir.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

from assay.sandbox.identity import NOBODY, SandboxPathError
from assay.sandbox.isolation import SandboxUnavailable, resolve_isolation

DEFAULT_PARENT = Path("/var/tmp")
TREE_MODE = 0o711


def reachable_by_nobody(path: Path) -> bool:
    """Whether every directory from `/` down to `path` is searchable by others."""
    path = path.resolve()
    for directory in [*reversed(path.parents), path]:
        try:
            mode = directory.stat().st_mode
        except FileNotFoundError:
            return True  # created below a reachable parent, by us, with our umask
        if not mode & stat.S_IXOTH:
            return False
    return True


def run_root_for(data_dir: Path, mode: str, configured: Path | None = None) -> Path | None:
    """A tree for workspaces and environments outside `data_dir`, or None when it will do.

    Only `process` isolation (`mode` as configured) as root needs one, and only
    when `nobody` cannot reach the data dir; `configured` (ASSAY_SANDBOX_DIR)
    always wins. Each composition root (server, worker) calls this once and keeps
    the answer as its settings' `sandbox_dir`.
    """
    if configured is not None:
        return configured.resolve()
    try:
        isolation = resolve_isolation(mode)
    except SandboxUnavailable:
        return None  # no test will run here; health says why
    if isolation != "process" or os.geteuid() != 0 or reachable_by_nobody(data_dir):
        return None
    root = default_tree(data_dir)
    ensure_tree(root)
    return root


def default_tree(data_dir: Path) -> Path:
    """`/var/tmp/assay-<id>`: one per data dir, so two servers on a machine never share."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return DEFAULT_PARENT / f"assay-{digest}"


def ensure_tree(root: Path) -> None:
    """Create `root` (0711, ours) or check that the one there is ours and not a link.

    /var/tmp is writable by everyone: a directory someone else made there first,
    or a symlink planted in its place, must be refused, not used.
    """
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=TREE_MODE)
    info = root.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise SandboxPathError(f"{root} is not a directory; remove it or set ASSAY_SANDBOX_DIR")
    if info.st_uid != os.geteuid():
        raise SandboxPathError(
            f"{root} belongs to uid {info.st_uid}, not to this server; remove it or set "
            "ASSAY_SANDBOX_DIR to a directory of the server's own"
        )
    os.chmod(root, TREE_MODE)
    if not reachable_by_nobody(root):
        raise SandboxPathError(f"{root} is not reachable by the sandbox uid {NOBODY}")
