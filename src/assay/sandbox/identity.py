"""Who the sandboxed code runs as, and whether that user can reach its files.

Root is exempt from RLIMIT_NPROC and can write anywhere, so a server running as
root drops sandboxed code to an unprivileged uid. Each sandbox that runs at the
same time gets a uid of its own (`lease_identity`): the kernel counts
RLIMIT_NPROC per uid, so two runs sharing one would share one budget, and a fork
bomb in one would leave its neighbour unable to start a subprocess. The uids
have no group memberships, so a path is reachable exactly when every ancestor is
world-searchable and the path itself world-readable. Checking the mode bits up
front turns an obscure ENOENT/EACCES inside pytest into an error that names the
directory to fix.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assay.errors import Unavailable

log = logging.getLogger(__name__)

NOBODY = 65534
"""The uid a sandbox falls back to when no uid of `SANDBOX_UIDS` can be leased."""
SANDBOX_UIDS = range(1_900_000_000, 1_900_000_256)
"""The uids leased to concurrent sandboxes. No passwd entry, no groups, and a block
that neither distributions (users, subuid ranges) nor systemd (dynamic users,
container ranges end at 1879048191) hand out."""
LEASE_DIR = "assay-sandbox-uids"
"""Under /run (or /tmp where there is none), root's own (0700): one lock file per uid.
An flock there is what makes a lease hold across every process on the machine (the
server, Celery workers), whatever TMPDIR each was given."""


@dataclass(frozen=True)
class Identity:
    """The uid/gid the sandboxed process runs as; None means "stay as we are"."""

    uid: int | None
    gid: int | None
    names: Path | None = None
    """A directory with the `passwd` and `group` a sandbox shows at /etc: the host's
    plus the leased uid's entries (`getpwuid(os.getuid())`, `getpass.getuser()` and
    the projects' tests that call them need to find their user)."""

    @property
    def drops_privileges(self) -> bool:
        return self.uid is not None


class SandboxPathError(Unavailable, PermissionError):
    """A path the sandboxed code needs is not reachable by the sandbox uid."""


def sandbox_identity() -> Identity:
    """How any sandbox sees the host's files, for checking paths up front.

    As root, as `nobody` does: every leased uid is, like it, an "other" with no groups.
    Whom a sandbox really runs as comes from `lease_identity`.
    """
    if os.geteuid() == 0:
        return Identity(NOBODY, NOBODY)
    return Identity(None, None)


@contextlib.contextmanager
def lease_identity(isolation: str) -> Iterator[Identity]:
    """The identity for one sandbox, held until the block ends.

    Root under bubblewrap gets a uid of `SANDBOX_UIDS` that no other sandbox on the
    machine holds now, with the /etc names that make it a user (see
    `Identity.names`). It gets `nobody`, shared, when none can be leased (all taken,
    or the uids do not exist in this user namespace) and in `process` isolation,
    where the host's /etc/passwd is what the code reads. Anyone else keeps their
    own uid, which the kernel's limits already count as one.
    """
    if os.geteuid() != 0:
        yield Identity(None, None)
        return
    fd: int | None = None
    identity = Identity(NOBODY, NOBODY)
    try:
        folder = _lease_dir() if isolation == "bwrap" and _mapped(SANDBOX_UIDS) else None
        if folder is not None:
            fd, uid = _lease_uid(folder)
            if fd is not None:
                identity = Identity(uid, uid, _write_names(folder, uid))
    except OSError as exc:  # a read-only /run, a full disk: the run goes on, shared
        log.warning("could not lease a sandbox uid (%s): this sandbox shares uid %d",
                    exc, NOBODY)
        identity = Identity(NOBODY, NOBODY)
    try:
        yield identity
    finally:
        if fd is not None:
            os.close(fd)  # releases the flock


def _lease_uid(folder: Path) -> tuple[int | None, int]:
    for uid in SANDBOX_UIDS:
        fd = os.open(folder / f"{uid}.lock",
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return fd, uid
    log.warning("all %d sandbox uids are in use: this sandbox shares uid %d",
                len(SANDBOX_UIDS), NOBODY)
    return None, NOBODY


def _write_names(folder: Path, uid: int) -> Path:
    """The host's passwd and group with `uid` added, written while its lease is held."""
    names = folder / f"{uid}.etc"
    names.mkdir(mode=0o755, exist_ok=True)
    name = f"assay-sandbox-{uid - SANDBOX_UIDS.start}"
    for file, entry in (("passwd", f"{name}:x:{uid}:{uid}:Assay sandbox:/nonexistent:"
                                   "/usr/sbin/nologin\n"),
                        ("group", f"{name}:x:{uid}:\n")):
        try:
            host = Path("/etc", file).read_text()
        except OSError:
            host = ""
        if host and not host.endswith("\n"):
            host += "\n"
        (names / file).write_text(host + entry)
        (names / file).chmod(0o644)
    return names


def _lease_dir() -> Path | None:
    """Root's own directory of leases, or None (and a warning) when it is not."""
    folder = (Path("/run") if os.path.isdir("/run") else Path("/tmp")) / LEASE_DIR
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o077:
        log.warning("%s is not root's own directory: sandboxes share uid %d", folder, NOBODY)
        return None
    return folder


def _mapped(uids: range) -> bool:
    """Whether every uid of `uids` exists in this process's user namespace."""
    try:
        lines = Path("/proc/self/uid_map").read_text().splitlines()
    except OSError:
        return True  # no user namespaces: every uid exists
    for line in lines:
        inside, _, count = (int(n) for n in line.split())
        if inside <= uids.start and uids.stop <= inside + count:
            return True
    return False


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
