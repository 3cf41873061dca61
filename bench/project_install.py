"""What installing the project costs per plan: cached per snapshot, never a rebuild.

A pure-Python project with a few dependencies is set up the way Assay does it for a
plan: its environment (dependencies, built once per declaration hash) and its own
editable install (built in the sandbox once per snapshot). Measured in one run:

- environment build (what a new commit would pay if every commit rebuilt everything);
- the project's first install on that environment;
- a second plan on the same snapshot (the cached install: should be ~0);
- a new commit (one file changed, new snapshot): one project build, no dependency work.

Run: python bench/project_install.py [--deps attrs,idna,six] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assay.environments import EnvironmentPool
from assay.environments.install import ensure_installed
from assay.environments.spec import detect_environment
from assay.runner.pytest_cmd import environment_root
from assay.sandbox import Limits
from assay.snapshots import snapshot_tree


def write_project(root: Path, deps: list[str]) -> None:
    (root / "src" / "benchpkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "benchpkg"
        version = "1.0"
        dependencies = {json.dumps(deps)}
    """))
    (root / "src" / "benchpkg" / "__init__.py").write_text("VALUE = 1\n")


async def measure(deps: list[str], work: Path) -> dict[str, float]:
    project = work / "project"
    write_project(project, deps)
    pool = EnvironmentPool(work / "envs")
    limits = Limits(wall_seconds=600, cpu_seconds=600)
    ws = work / "workspaces"

    def snap() -> tuple[str, Path]:
        return snapshot_tree(project, work / "snapshots")

    digest, path = snap()
    spec = detect_environment(path).spec
    figures: dict[str, float] = {}
    started = time.perf_counter()
    async with pool.lease(spec) as env:
        figures["environment build"] = time.perf_counter() - started

        async def install(d: str, p: Path) -> float:
            t = time.perf_counter()
            await ensure_installed(env.install_dir(d), p, env.python, ws, limits, "auto",
                                   environment_root(env.python))
            return time.perf_counter() - t

        figures["first install"] = await install(digest, path)
        figures["same snapshot, next plan"] = await install(digest, path)
        (project / "src" / "benchpkg" / "__init__.py").write_text("VALUE = 2\n")
        digest2, path2 = snap()
        assert digest2 != digest
        figures["new commit"] = await install(digest2, path2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deps", default="attrs,idna,six,packaging")
    parser.add_argument("--json", type=Path, default=Path("bench/results/project_install.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="assay-bench-install-"))
    try:
        figures = asyncio.run(measure(args.deps.split(","), work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rebuild = figures["environment build"] + figures["first install"]
    table = Table("step", "seconds", "÷ full rebuild", title="Project install per plan")
    for name, seconds in figures.items():
        table.add_row(name, f"{seconds:.3f}", f"{seconds / rebuild:.3f}")
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"figures": figures, "full_rebuild": rebuild}, indent=2))


if __name__ == "__main__":
    main()
