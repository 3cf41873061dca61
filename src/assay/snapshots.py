"""Project snapshots: an immutable copy of a project's tree, named by its content.

A plan runs against the tree as it was when the plan was created, not as it is
when a worker gets to it, and tests never touch the user's own files. Naming the
copy by a hash of its content makes it dedupe itself and lets a remote worker
verify what it was shipped. Symlinks that leave the tree are skipped: the
server reads the tree with its own rights and must not copy, say, a key file
that a link points to into a place tests can read.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import secrets
import shutil
import stat
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from assay.errors import InvalidInput

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", ".assay", ".tox",
    ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", ".eggs", ".idea",
    ".vscode", "htmlcov",
})
SKIP_SUFFIXES = (".pyc", ".pyo", ".egg-info")
SKIP_FILES = frozenset({".coverage", ".DS_Store"})


class SnapshotError(InvalidInput, RuntimeError):
    """The tree cannot be snapshotted, shipped or fetched; the message says why."""


def _skipped(name: str, is_dir: bool) -> bool:
    if is_dir:
        return name in SKIP_DIRS or name.endswith(".egg-info")
    return name in SKIP_FILES or name.endswith(SKIP_SUFFIXES)


def iter_files(source: Path) -> Iterator[tuple[str, Path]]:
    """(posix relative path, real file) for every file kept, in sorted order.

    With `os.scandir`, whose entries know their type: a tree is walked without a stat
    per file (the walk is on every plan's path).
    """
    source = source.resolve()
    found: list[tuple[str, Path]] = []
    stack = [(str(source), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # removed or unreadable meanwhile: not part of the tree
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not _skipped(entry.name, True):
                    stack.append((entry.path, f"{prefix}{entry.name}/"))
                continue
            if _skipped(entry.name, False):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                target = path.resolve()
                if source not in target.parents or not target.is_file():
                    continue  # links out of the tree (or dangling, or to a folder) are not kept
            elif not entry.is_file(follow_symlinks=False):
                continue  # sockets, fifos, devices
            found.append((prefix + entry.name, path))
    yield from sorted(found)


STABLE_AFTER_NS = 2_000_000_000
"""A file's digest is remembered only when its mtime is this much older than the read:
the kernel stamps writes with a coarse clock, so a file written again within one tick
of an earlier write can keep its mtime, and only an old mtime proves nothing did."""


class FileDigests:
    """Per-file content digests remembered by path and stat, so that hashing a tree that
    has not changed since the last plan stats its files instead of reading them all.

    A hit needs the same size, mtime, ctime and inode: any write, chmod, rename over or
    `touch -d` back to the old time moves ctime, which no one can set. Thread-safe for
    the snapshots of concurrent plans (each operation is one dict access).
    """

    def __init__(self, limit: int = 500_000) -> None:
        self.limit = limit
        self._known: dict[str, tuple[tuple[int, int, int, int], str]] = {}

    def digest(self, path: Path, data: bytes | None = None) -> tuple[int, str]:
        """(size, sha256 hex) of `path`'s content; `data` when the caller has read it."""
        st = path.stat()
        key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        known = self._known.get(str(path))
        if known is not None and known[0] == key and data is None:
            return st.st_size, known[1]
        if data is None:
            data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        if len(data) == st.st_size and st.st_mtime_ns < time.time_ns() - STABLE_AFTER_NS:
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[str(path)] = (key, sha)
        return len(data), sha


FILE_DIGESTS = FileDigests()
"""The server's own: every snapshot of a path source goes through it."""


def _digest(files: Iterator[tuple[str, Path]], max_bytes: int, copy_to: Path | None,
            known: FileDigests | None) -> str:
    """The tree's hash: of every kept file's path, size and content digest, in order.

    Copying (`copy_to`) reads every file anyway; hashing alone reads only the files
    `known` has no digest for.
    """
    h = hashlib.sha256()
    total = 0
    for rel, path in files:
        data = path.read_bytes() if copy_to is not None or known is None else None
        if known is None:
            assert data is not None
            size, sha = len(data), hashlib.sha256(data).hexdigest()
        else:
            size, sha = known.digest(path, data)
        total += size
        if total > max_bytes:
            raise SnapshotError(
                f"the project is larger than the snapshot limit of {max_bytes >> 20} MiB "
                "(add build outputs and data to a skipped folder or raise the limit)"
            )
        h.update(f"{rel}\0{size}\0{sha}\0".encode())
        if copy_to is not None:
            assert data is not None
            dest = copy_to / rel
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            dest.write_bytes(data)
            mode = path.stat().st_mode
            dest.chmod(0o755 if mode & stat.S_IXUSR else 0o644)
    return h.hexdigest()


def snapshot_tree(
    source: Path, snapshots_dir: Path, max_bytes: int = 200 << 20,
    known: FileDigests | None = FILE_DIGESTS,
) -> tuple[str, Path]:
    """Store `source` as `snapshots_dir/<hash>`; an existing identical snapshot is reused.

    The copy is built in a temp dir and renamed into place, so a reader never
    sees half a snapshot. Files are world-readable and read-only (0644/0755),
    because the sandbox uid must read them but nobody may change them. `known`
    spares reading the files that have not changed since they were last hashed.
    """
    if not source.is_dir():
        raise SnapshotError(f"{source} is not a directory")
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    digest = _digest(iter_files(source), max_bytes, None, known)
    final = snapshots_dir / digest
    if final.is_dir():
        return digest, final
    tmp = snapshots_dir / f".tmp-{secrets.token_hex(6)}"
    tmp.mkdir(mode=0o755)
    try:
        digest = _digest(iter_files(source), max_bytes, tmp, known)  # it may change meanwhile
        return digest, _publish(tmp, snapshots_dir / digest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, final: Path) -> Path:
    tmp.chmod(0o755)
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():
            raise  # anything but "someone else stored the same snapshot first"
    return final


def snapshot_hash(path: Path) -> str:
    """The content hash of a stored snapshot (or any tree), as snapshot_tree computes it."""
    return _digest(iter_files(path), 1 << 62, None, None)


def pack_snapshot(path: Path) -> bytes:
    """A gzipped tar of a stored snapshot, for a worker on another machine."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel, file in iter_files(path):
            info = tarfile.TarInfo(rel)
            data = file.read_bytes()
            info.size = len(data)
            info.mode = 0o755 if file.stat().st_mode & stat.S_IXUSR else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def unpack_snapshot(data: bytes, snapshots_dir: Path, expected_hash: str) -> Path:
    """Store a packed snapshot after checking every member and the content hash.

    Only regular files with relative, non-escaping names are accepted: an archive
    is input from the network and must not write outside its directory.
    """
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    final = snapshots_dir / expected_hash
    if final.is_dir():
        return final
    tmp = snapshots_dir / f".tmp-{secrets.token_hex(6)}"
    tmp.mkdir(mode=0o755)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar.getmembers():
                name = PurePosixPath(member.name)
                if (name.is_absolute() or ".." in name.parts or not member.isfile()
                        or not name.parts or "\\" in member.name):
                    raise SnapshotError(f"refusing archive member {member.name!r}")
                src = tar.extractfile(member)
                assert src is not None
                dest = tmp.joinpath(*name.parts)
                dest.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
                dest.write_bytes(src.read())
                dest.chmod(0o755 if member.mode & 0o100 else 0o644)
        actual = snapshot_hash(tmp)
        if actual != expected_hash:
            raise SnapshotError(f"snapshot hash mismatch: expected {expected_hash}, got {actual}")
        return _publish(tmp, final)
    except tarfile.TarError as exc:
        raise SnapshotError(f"not a snapshot archive: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _git(args: list[str], cwd: Path | None = None, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    cmd = ["git", "-c", "protocol.ext.allow=never", "-c", "advice.detachedHead=false", *args]
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SnapshotError(f"git {args[0]} failed: {exc}") from exc
    if done.returncode != 0:
        raise SnapshotError(f"git {args[0]} failed: {(done.stderr or done.stdout).strip()[-2000:]}")
    return done.stdout.strip()


def materialize_git(url: str, ref: str | None, cache_dir: Path) -> Path:
    """A checkout of `url` at `ref` (branch, tag or commit; default branch when None).

    One cached clone per URL, fetched again on each call and locked so two
    processes never fetch into it at once. Snapshot the result with snapshot_tree.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(url.encode()).hexdigest()[:16]
    checkout = cache_dir / name
    with _locked(cache_dir / f"{name}.lock"):
        if not (checkout / ".git").is_dir():
            shutil.rmtree(checkout, ignore_errors=True)
            _git(["clone", "--quiet", "--no-checkout", "--", url, str(checkout)])
        else:
            _git(["fetch", "--quiet", "--tags", "--force", "origin",
                  "+refs/heads/*:refs/remotes/origin/*"], cwd=checkout)
        candidates = [f"origin/{ref}", ref] if ref else ["origin/HEAD", "HEAD"]
        commit = None
        for candidate in candidates:
            with contextlib.suppress(SnapshotError):
                commit = _git(["rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"],
                              cwd=checkout)
                break
        if commit is None and ref:
            with contextlib.suppress(SnapshotError):  # a commit not on any branch head
                _git(["fetch", "--quiet", "origin", ref], cwd=checkout)
                commit = _git(["rev-parse", "--verify", "FETCH_HEAD^{commit}"], cwd=checkout)
        if commit is None:
            raise SnapshotError(f"{url}: ref {ref or 'HEAD'!r} not found")
        _git(["checkout", "--quiet", "--force", "--detach", commit], cwd=checkout)
        _git(["clean", "-qfdx"], cwd=checkout)
    return checkout
