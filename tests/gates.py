"""Gates: a sandboxed test that holds its slot until the test driving it says go.

Tests that need "a job is really running now" (to cancel it, kill its server or its
worker, or queue work behind it) used to run `time.sleep(n)` and hope the driver got
its step done within `n` seconds; on a loaded machine it sometimes did not. A gated
test instead announces that it has started and waits to be released, so it runs
exactly as long as the driver needs, with no margin to lose.

The handshake goes through files in the test's working directory (the project copy
inside its job workspace): that is the one place both sides see, whatever the
isolation (bubblewrap binds nothing else into the sandbox, and /tmp is private). The
test touches `started-<tag>` there and waits for `release-<tag>` next to it; the
driver finds the markers by walking the directories that hold the workspaces (a
server's or a worker's data dir) and creates the release files.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

# A gated test that is never released fails on its own after this long (the runner's
# per-test timeout usually stops it first), so a broken driver cannot hang a job.
HOLD_S = 240


class Gate:
    """Markers of one tag under `roots`; every test made by `code()` shares the tag."""

    def __init__(self, roots: Path | Sequence[Path], tag: str | None = None) -> None:
        self.roots = [roots] if isinstance(roots, Path) else list(roots)
        self.tag = tag or uuid.uuid4().hex[:12]

    def code(self, name: str = "test_gated") -> str:
        """Source of a test module whose test starts, says so, and waits for release."""
        return (
            "import pathlib\nimport time\n\n\n"
            f"def {name}():\n"
            f"    pathlib.Path('started-{self.tag}').touch()\n"
            f"    deadline = time.monotonic() + {HOLD_S}\n"
            f"    while not pathlib.Path('release-{self.tag}').exists():\n"
            "        assert time.monotonic() < deadline, 'the gate was never released'\n"
            "        time.sleep(0.01)\n"
        )

    def started(self) -> list[Path]:
        """Markers of the gated tests that have started (one per workspace)."""
        found = []
        name = f"started-{self.tag}"
        for root in self.roots:
            for folder, _, files in os.walk(root):  # errors (a workspace removed) ignored
                if name in files:
                    found.append(Path(folder) / name)
        return found

    def wait_started(self, count: int = 1, timeout: float = 120) -> list[Path]:
        """Block until `count` gated tests are running (in distinct workspaces)."""
        deadline = time.monotonic() + timeout
        while len(found := self.started()) < count:
            assert time.monotonic() < deadline, (
                f"{len(found)} of {count} gated test(s) started within {timeout} s"
            )
            time.sleep(0.05)
        return found

    def release(self) -> int:
        """Let every gated test that has started go on; returns how many were released."""
        released = 0
        for marker in self.started():
            gate = marker.with_name(f"release-{self.tag}")
            if not gate.exists():
                try:
                    gate.touch()
                except FileNotFoundError:  # its workspace was just removed
                    continue
                gate.chmod(0o644)
                released += 1
        return released

    @contextmanager
    def releasing(self) -> Iterator[None]:
        """Release gated tests as they start, for as long as the block runs.

        For tests that run again after the driver broke their first run (a killed
        server or worker): the re-run starts in a new workspace and must pass.
        """
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(0.05):
                self.release()

        thread = threading.Thread(target=loop, name=f"gate-{self.tag}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(10)
