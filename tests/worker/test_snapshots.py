"""Snapshots: content-addressed copies, shipping, and git checkouts."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from assay.snapshots import (
    FileDigests,
    SnapshotError,
    materialize_git,
    pack_snapshot,
    snapshot_hash,
    snapshot_tree,
    unpack_snapshot,
)


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("X = 1\n")
    (root / "README.md").write_text("hello\n")
    return root


def test_hash_is_stable_and_ignores_junk(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    digest, stored = snapshot_tree(src, tmp_path / "snaps")
    for junk in (".git/objects", ".venv/bin", "pkg/__pycache__", "node_modules/x", ".tox"):
        (src / junk).mkdir(parents=True)
        (src / junk / "f").write_text("junk")
    (src / "pkg" / "mod.pyc").write_bytes(b"\0")
    (src / "leak").symlink_to("/etc/hostname")
    again, stored_again = snapshot_tree(src, tmp_path / "snaps")
    assert (again, stored_again) == (digest, stored)
    assert sorted(p.name for p in stored.iterdir()) == ["README.md", "pkg"]
    (src / "pkg" / "__init__.py").write_text("X = 2\n")
    assert snapshot_tree(src, tmp_path / "snaps")[0] != digest
    assert (stored / "pkg" / "__init__.py").read_text() == "X = 1\n"  # stored copy is immutable


def _age(root: Path, seconds: float) -> float:
    """Set every file's mtime `seconds` back, as a checkout from a while ago has."""
    then = time.time() - seconds
    for folder, _, files in os.walk(root):
        for name in files:
            os.utime(Path(folder, name), (then, then))
    return then


def test_a_remembered_tree_hashes_as_a_full_read_and_sees_every_change(tmp_path: Path) -> None:
    """Digests are remembered by stat; a change that keeps size and mtime (an editor's
    save-in-place restoring the time, a checkout of a same-size file) is still seen."""
    src = _tree(tmp_path / "src")
    then = _age(src, 3600)
    known = FileDigests()
    snaps = tmp_path / "snaps"
    first, _ = snapshot_tree(src, snaps, known=known)
    assert first == snapshot_hash(src)  # the same hash whether it reads or remembers
    assert snapshot_tree(src, snaps, known=known)[0] == first

    module = src / "pkg" / "__init__.py"
    module.write_text("X = 3\n")  # same size
    os.utime(module, (then, then))  # and the same mtime as before
    changed, stored = snapshot_tree(src, snaps, known=known)
    assert changed != first and changed == snapshot_hash(src)
    assert (stored / "pkg" / "__init__.py").read_text() == "X = 3\n"

    (src / "pkg" / "new.py").write_text("")
    (src / "README.md").unlink()
    assert snapshot_tree(src, snaps, known=known)[0] == snapshot_hash(src) != changed


def test_size_limit(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    (src / "big.bin").write_bytes(b"x" * 5000)
    with pytest.raises(SnapshotError, match="larger than"):
        snapshot_tree(src, tmp_path / "snaps", max_bytes=1000)


def test_pack_unpack_round_trip(tmp_path: Path) -> None:
    digest, stored = snapshot_tree(_tree(tmp_path / "src"), tmp_path / "a")
    data = pack_snapshot(stored)
    out = unpack_snapshot(data, tmp_path / "b", digest)
    assert out == tmp_path / "b" / digest
    assert (out / "pkg" / "__init__.py").read_text() == "X = 1\n"
    with pytest.raises(SnapshotError, match="mismatch"):
        unpack_snapshot(data, tmp_path / "c", "0" * 64)
    assert not (tmp_path / "c" / ("0" * 64)).exists()


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt"])
def test_unpack_rejects_path_traversal(tmp_path: Path, name: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(SnapshotError, match="refusing"):
        unpack_snapshot(buf.getvalue(), tmp_path / "snaps", "0" * 64)
    assert not (tmp_path / "evil.txt").exists()


def test_unpack_rejects_symlinks(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(SnapshotError):
        unpack_snapshot(buf.getvalue(), tmp_path / "snaps", "0" * 64)


def test_materialize_git_local_repo(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo")

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.email=t@e", "-c", "user.name=t", *args],
                              cwd=repo, check=True, capture_output=True, text=True).stdout
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-qm", "one")
    first = git("rev-parse", "HEAD").strip()
    (repo / "pkg" / "__init__.py").write_text("X = 2\n")
    git("commit", "-qam", "two")
    cache = tmp_path / "cache"
    head = materialize_git(str(repo), None, cache)
    assert (head / "pkg" / "__init__.py").read_text() == "X = 2\n"
    old = materialize_git(str(repo), first, cache)
    assert (old / "pkg" / "__init__.py").read_text() == "X = 1\n"
    assert (materialize_git(str(repo), "main", cache) / "pkg" / "__init__.py").read_text() == (
        "X = 2\n")
    with pytest.raises(SnapshotError, match="not found"):
        materialize_git(str(repo), "no-such-branch", cache)
    with pytest.raises(SnapshotError, match="clone"):
        materialize_git(str(tmp_path / "not-a-repo"), None, cache)
