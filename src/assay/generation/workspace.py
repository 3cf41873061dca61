"""The scratch workspace a generation runs in, and running commands there in the sandbox.

The workspace is a private copy of the project (with the diff applied when needed),
plus a `.assay_gen/` folder for probe specs, candidate modules and coverage data. It is
the only place the sandboxed code may write, and the cwd of every run: tests are run
"from the project root", exactly as the accepted tests will be run later.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from assay.generation.symbols import SKIPPED_DIRS
from assay.sandbox import Limits, SandboxResult, run_sandboxed

GEN_DIR = ".assay_gen"


def _ignore(folder: str, names: list[str]) -> set[str]:
    skipped = {n for n in names if n in SKIPPED_DIRS or n.endswith((".pyc", ".pyo"))}
    return skipped | {n for n in names if os.path.exists(os.path.join(folder, n, "pyvenv.cfg"))}


def create_workspace(project_dir: Path, workspaces_dir: Path) -> Path:
    """Copy the project into a fresh, world-searchable folder under `workspaces_dir`."""
    workspaces_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gen-", dir=workspaces_dir))
    os.chmod(root, 0o755)  # the sandbox uid must reach it (mkdtemp makes 0700)
    shutil.copytree(project_dir, root, ignore=_ignore, dirs_exist_ok=True, symlinks=True)
    (root / GEN_DIR).mkdir(exist_ok=True)
    return root


def remove_workspace(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class SandboxRunner:
    """Runs the project's Python in the workspace; one place for limits and isolation."""

    workspace: Path
    python: Path
    limits: Limits
    isolation: str = "auto"
    pythonpath: tuple[str, ...] = (".",)
    cancel: asyncio.Event | None = None
    # `-o addopts=...` once the project's addopts needed a plugin this run lacks, and the
    # notes that say so (see assay.runner.pytest_config.neutralized).
    pytest_override: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def readonly_paths(self) -> list[Path]:
        python = Path(self.python).absolute()
        venv = python.parent.parent
        paths = [venv] if (venv / "pyvenv.cfg").exists() else [python.parent]
        return paths

    async def run(
        self,
        args: list[str],
        *,
        wall_seconds: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SandboxResult:
        limits = self.limits
        if wall_seconds is not None and wall_seconds < limits.wall_seconds:
            limits = Limits(**{**limits.to_dict(), "wall_seconds": wall_seconds})
        extra = {"PYTHONPATH": os.pathsep.join(str(self.workspace / p) for p in self.pythonpath)}
        extra.update(env or {})
        python = str(self.python if self.python.is_absolute() else Path.cwd() / self.python)
        return await run_sandboxed(
            [python, *args],
            workspace=self.workspace,
            limits=limits,
            isolation=self.isolation,
            readonly_paths=self.readonly_paths(),
            env=extra,
            cancel=self.cancel,
        )
