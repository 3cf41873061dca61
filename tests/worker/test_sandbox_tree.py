"""The tree that process isolation keeps outside a private data dir (assay.sandbox.tree)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assay.sandbox import SandboxPathError
from assay.sandbox.tree import TREE_MODE, ensure_tree, reachable_by_nobody, run_root_for


def test_only_process_isolation_as_root_under_a_private_dir_moves_out(tmp_path: Path) -> None:
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    data_dir = private / ".assay"
    assert run_root_for(data_dir, "bwrap" if os.path.exists("/usr/bin/bwrap") else "process",
                        configured=tmp_path / "chosen") == (tmp_path / "chosen").resolve()
    root = run_root_for(data_dir, "process")
    if os.geteuid() != 0:
        assert root is None  # tests keep our own uid: our own dirs are reachable
        return
    assert root is not None and not root.is_relative_to(private)
    assert root.stat().st_mode & 0o777 == TREE_MODE and reachable_by_nobody(root)
    assert run_root_for(data_dir, "process") == root  # stable: environments are reused
    root.rmdir()


def test_a_planted_link_or_foreign_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "tree"
    link.symlink_to(target)
    with pytest.raises(SandboxPathError, match="not a directory"):
        ensure_tree(link)
    if os.geteuid() == 0:
        foreign = tmp_path / "foreign"
        foreign.mkdir()
        os.chown(foreign, 65534, 65534)
        with pytest.raises(SandboxPathError, match="belongs to uid 65534"):
            ensure_tree(foreign)
