"""Laying out a job's scratch workspace.

    <workspace>/
      project/                 copy of the snapshot: cwd and rootdir of pytest
      project/_assay_tests/    one module per code item (inside the project so its
                               conftest.py and ini settings apply, as for its own tests)
      .assay/_assay_stream.py  the plugin, on PYTHONPATH
      .assay/select.json       what the plugin keeps after collection

Code modules are named `test_assay_<index>_<key>.py`: unique basenames, because
pytest's default import mode imports a module without `__init__.py` under its
basename and two equal basenames would clash.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assay.environments.install import SITECUSTOMIZE, InstalledProject, lay_site
from assay.runner.models import Job

PLUGIN_SOURCE = Path(__file__).with_name("_assay_stream.py")
PLUGIN_MODULE = "_assay_stream"


@dataclass
class Workspace:
    root: Path
    project: Path
    plugin_dir: Path
    code_files: dict[str, str] = field(default_factory=dict)  # rootdir-relative path -> key
    code_dir: str | None = None  # rootdir-relative directory holding them

    @property
    def select_file(self) -> Path:
        return self.plugin_dir / "select.json"

    def pythonpath(self) -> str:
        parts = [self.plugin_dir, self.project]
        if (self.project / "src").is_dir():
            parts.append(self.project / "src")  # src layout: the project is not installed
        return ":".join(str(p) for p in parts)


def safe_name(key: str, limit: int = 40) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key)[:limit] or "item"


def create_workspace(workspaces_dir: Path, job_id: str) -> Path:
    workspaces_dir.mkdir(parents=True, exist_ok=True)
    root = workspaces_dir / f"job-{safe_name(job_id)}-{secrets.token_hex(4)}"
    root.mkdir(mode=0o755)
    return root


def install_site(installed: InstalledProject, plugin_dir: Path, project: Path) -> None:
    """The project's site files (dist-info, .pth) pointed at `project`, made a site dir.

    `sitecustomize` on PYTHONPATH runs before anything else in the interpreter, so
    `.pth` files work and `importlib.metadata` finds the project before pytest starts.
    """
    site = plugin_dir / "site"
    lay_site(installed.site, site, project)
    (plugin_dir / "sitecustomize.py").write_text(SITECUSTOMIZE.format(site=str(site)), "utf-8")


def copy_project(snapshot_dir: Path | None, dest: Path) -> None:
    """Copy the snapshot; tests get their own writable copy, never the stored one."""
    if snapshot_dir is None:
        dest.mkdir()
        return
    if not snapshot_dir.is_dir():
        raise FileNotFoundError(f"snapshot {snapshot_dir} does not exist")
    shutil.copytree(snapshot_dir, dest, symlinks=True)


def prepare(
    job: Job, root: Path, installed: InstalledProject | None = None,
    copy: Callable[[Path | None, Path], None] = copy_project,
) -> Workspace:
    """The job's workspace in `root`; `copy` makes its project (a warm runner's ready
    copy, see `assay.runner.copy_ahead`)."""
    ws = Workspace(root=root, project=root / "project", plugin_dir=root / ".assay")
    copy(installed.tree if installed else job.snapshot_dir, ws.project)
    ws.plugin_dir.mkdir()
    shutil.copyfile(PLUGIN_SOURCE, ws.plugin_dir / f"{PLUGIN_MODULE}.py")
    if installed is not None:
        install_site(installed, ws.plugin_dir, ws.project)
    code_items = [item for item in job.items if item.kind == "code"]
    if code_items:
        tests_dir = ws.project / "_assay_tests"
        n = 0
        while tests_dir.exists():
            n += 1
            tests_dir = ws.project / f"_assay_tests_{n}"
        tests_dir.mkdir()
        ws.code_dir = tests_dir.name
        for index, item in enumerate(code_items):
            path = tests_dir / f"test_assay_{index:05d}_{safe_name(item.key)}.py"
            path.write_text(item.code or "", encoding="utf-8")
            ws.code_files[path.relative_to(ws.project).as_posix()] = item.key
    return ws
