"""The next job's copy of the project, made while the current job runs.

Every job gets its own writable copy of the project tree, and `copytree` of a real
project costs 7 ms for 200 files and 50 ms for 2,000 on a quiet disk, several times
that while two jobs run: time between a job's arrival and its first test. A warm
runner runs one job at a time and its next job is most often of the same tree (the
next batch of the plan, the next plan of the same commit), so it can have that copy
ready: made in the background once a job has taken the last one, then renamed into
the next job's workspace.

The copy is made beside the runner's home, never inside it: the home is the
sandbox's, and a running job must not be able to reach the next job's files. It is
used only for the very tree it was copied from, told by the source directory's
device, inode and ctime: snapshots and built trees are published by renaming a
finished directory into place, so a tree published anew at the same path is another
inode, and its stale copy is thrown away instead of used.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from assay.runner.workspace import copy_project

log = logging.getLogger(__name__)

Version = tuple[str, int, int, int]


def _version(source: Path) -> Version | None:
    try:
        st = source.stat()
    except OSError:
        return None
    return (str(source), st.st_dev, st.st_ino, st.st_ctime_ns)


class CopyAhead:
    """At most one ready copy of one source tree, in `staging` (ours alone)."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        self._lock = threading.Lock()
        self._ready: tuple[Version, Path] | None = None
        self._making: threading.Thread | None = None
        self._closed = False
        self._count = 0
        self.reused = 0
        """How many copies were renamed into place instead of copied on demand."""

    def copy(self, source: Path | None, dest: Path) -> None:
        """Make `dest` a fresh copy of `source`, then start the copy for the next job.

        Blocking: called from the thread that prepares a workspace. A copy still being
        made is waited for (it is further along than a new one would be).
        """
        if source is None:
            copy_project(None, dest)
            return
        version = _version(source)
        self.wait()
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is not None and version is not None and ready[0] == version:
            os.rename(ready[1], dest)
            self.reused += 1
        else:
            if ready is not None:
                shutil.rmtree(ready[1], ignore_errors=True)
            copy_project(source, dest)
        if version is not None:
            self._start(source, version)

    def wait(self) -> None:
        """Until the copy being made, if any, is ready (or given up)."""
        making = self._making
        if making is not None:
            making.join()

    def _start(self, source: Path, version: Version) -> None:
        with self._lock:
            if self._closed:
                return
            self._count += 1
            target = self.staging / f"copy-{self._count}"
            self._making = threading.Thread(
                target=self._make, args=(source, version, target),
                name="assay-copy-ahead", daemon=True,
            )
            self._making.start()

    def _make(self, source: Path, version: Version, target: Path) -> None:
        try:
            self.staging.mkdir(mode=0o700, parents=True, exist_ok=True)
            copy_project(source, target)
        except OSError as exc:
            # The source went away (a snapshot pruned) or the disk is full: the next
            # job copies on demand, as without a copy ahead.
            log.info("no copy ahead of %s: %s", source, exc)
            shutil.rmtree(target, ignore_errors=True)
            return
        with self._lock:
            usable = not self._closed and _version(source) == version
            if usable:
                self._ready = (version, target)
        if not usable:
            shutil.rmtree(target, ignore_errors=True)

    def close(self) -> None:
        """Stop making copies and remove the staging directory with what it holds."""
        with self._lock:
            self._closed = True
            self._ready = None
        self.wait()
        shutil.rmtree(self.staging, ignore_errors=True)
