"""collect_tests: the node ids of a project's own suite, collected in the sandbox.

Collection imports the project's test modules, i.e. runs its code, so it gets
the same sandbox as a test run.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from assay.environments.install import ensure_installed
from assay.errors import InvalidInput
from assay.runner.pytest_cmd import USAGE_ERROR, collect_argv, environment_root
from assay.runner.pytest_config import neutralized, neutralized_note
from assay.runner.workspace import (
    PLUGIN_MODULE,
    PLUGIN_SOURCE,
    copy_project,
    create_workspace,
    install_site,
)
from assay.sandbox import Limits, resolve_isolation, run_sandboxed


@dataclass(frozen=True)
class CollectionIssue:
    """A file or directory of the suite that pytest could not collect, and why."""

    path: str
    error: str


@dataclass
class Collected:
    """What collected (as `pytest --collect-only` lists it) and what did not.

    A module that fails to import costs only its own tests, as it does in pytest
    with `--continue-on-collection-errors`: the rest of the suite is still there.
    """

    nodeids: list[str]
    errors: list[CollectionIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class CollectionError(InvalidInput, RuntimeError):
    """pytest itself failed (a usage error, a crash, a timeout); the message holds its output."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(f"{message}\n{output}".strip())
        self.output = output


async def collect_tests(
    snapshot_dir: Path, python: Path, workspaces_dir: Path, limits: Limits,
    isolation: str = "auto", install_dir: Path | None = None,
    test_env: dict[str, str] | None = None, pytest_args: list[str] | None = None,
) -> Collected:
    """Node ids as `pytest --collect-only -q` in the project would list them, and errors.

    With `install_dir`, the project is installed first (cached per snapshot), as its
    developers' `pip install -e .` would have it; a failed build raises
    ProjectBuildError with its log.
    """
    installed = None
    if install_dir is not None:
        installed = await ensure_installed(install_dir, snapshot_dir, python, workspaces_dir,
                                           limits, resolve_isolation(isolation),
                                           environment_root(python))
    root = await asyncio.to_thread(create_workspace, workspaces_dir, "collect")
    try:
        project = root / "project"
        await asyncio.to_thread(copy_project, installed.tree if installed else snapshot_dir,
                                project)
        plugin_dir = root / ".assay"
        plugin_dir.mkdir()
        shutil.copyfile(PLUGIN_SOURCE, plugin_dir / f"{PLUGIN_MODULE}.py")
        if installed is not None:
            await asyncio.to_thread(install_site, installed, plugin_dir, project)
        collected: list[list[str]] = []
        errors: list[CollectionIssue] = []

        def on_line(line: str) -> None:
            msg = json.loads(line)
            if msg.get("event") == "collected":
                collected.append(msg["nodeids"])
            elif msg.get("event") == "collect_error":
                errors.append(CollectionIssue(str(msg.get("nodeid") or "."),
                                              str(msg.get("failure") or "")))

        pythonpath = [str(plugin_dir), str(project)]
        if (project / "src").is_dir():
            pythonpath.append(str(project / "src"))
        override: list[str] | None = None
        notes: list[str] = []
        while True:
            result = await run_sandboxed(
                collect_argv(python, project, [*(override or []), *(pytest_args or [])]),
                workspace=root, cwd=project, limits=limits, isolation=isolation,
                readonly_paths=environment_root(python),
                env={**(test_env or {}), "PYTHONPATH": ":".join(pythonpath)},
                on_report_line=on_line,
            )
            fixed = None
            if result.exit_code == USAGE_ERROR and override is None:
                fixed = neutralized(project, result.stdout + result.stderr)
            if fixed is None:
                break
            override, dropped = fixed
            notes.append(neutralized_note(dropped))
    finally:
        await asyncio.to_thread(shutil.rmtree, root, True)
    output = (result.stdout + "\n" + result.stderr).strip()
    if result.timed_out:
        raise CollectionError(f"collection timed out after {limits.wall_seconds:g}s", output)
    if result.exit_code not in (0, 1, 5) or not collected:
        detail = "\n".join(f"{e.path}: {e.error}" for e in errors)
        raise CollectionError(
            f"pytest could not collect the project's tests (exit code {result.exit_code})",
            f"{detail}\n{output}".strip(),
        )
    return Collected(collected[-1], errors, notes)
