"""The next job's copy of the project: fresh for every job, never of a stale tree."""

from __future__ import annotations

import filecmp
from pathlib import Path

from assay.runner.copy_ahead import CopyAhead


def _tree(path: Path, text: str) -> Path:
    (path / "pkg").mkdir(parents=True)
    (path / "pkg" / "__init__.py").write_text(text)
    (path / "setup.cfg").write_text("[metadata]\nname = pkg\n")
    (path / "link").symlink_to("setup.cfg")
    return path


def _same(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    return not (cmp.left_only or cmp.right_only or cmp.diff_files) and all(
        _same(a / d, b / d) for d in cmp.common_dirs
    )


def test_each_job_gets_a_fresh_copy_and_the_next_one_is_made_ahead(tmp_path: Path) -> None:
    source = _tree(tmp_path / "snapshot", "VALUE = 1\n")
    copies = CopyAhead(tmp_path / "next")
    try:
        copies.copy(source, tmp_path / "job1")
        assert _same(source, tmp_path / "job1")
        copies.wait()
        # The first job writes in its copy; the next job's copy was made from the source.
        (tmp_path / "job1" / "pkg" / "__init__.py").write_text("VALUE = 2\n")
        (tmp_path / "job1" / "left-behind").write_text("x")
        copies.copy(source, tmp_path / "job2")
        assert copies.reused == 1
        assert _same(source, tmp_path / "job2")
        assert (tmp_path / "job2" / "link").is_symlink()
    finally:
        copies.close()
    assert not (tmp_path / "next").exists()


def test_a_tree_published_anew_at_the_same_path_is_copied_not_served_stale(
    tmp_path: Path,
) -> None:
    source = _tree(tmp_path / "tree", "VALUE = 1\n")
    copies = CopyAhead(tmp_path / "next")
    try:
        copies.copy(source, tmp_path / "job1")
        copies.wait()
        # Rebuilt and published as snapshots and installs are: renamed into place.
        fresh = _tree(tmp_path / "tree.new", "VALUE = 3\n")
        (tmp_path / "tree").rename(tmp_path / "tree.old")
        fresh.rename(tmp_path / "tree")
        copies.copy(tmp_path / "tree", tmp_path / "job2")
        assert copies.reused == 0
        assert (tmp_path / "job2" / "pkg" / "__init__.py").read_text() == "VALUE = 3\n"
    finally:
        copies.close()


def test_after_close_no_copy_is_made_ahead(tmp_path: Path) -> None:
    source = _tree(tmp_path / "snapshot", "VALUE = 1\n")
    copies = CopyAhead(tmp_path / "next")
    copies.close()
    copies.copy(source, tmp_path / "job")
    copies.wait()
    assert _same(source, tmp_path / "job")
    assert not (tmp_path / "next").exists()
