"""The pytest command lines Assay runs inside the sandbox."""

from __future__ import annotations

from pathlib import Path

from assay.environments.runner_plugins import disable_args
from assay.runner.pytest_config import pinned_args
from assay.runner.workspace import PLUGIN_MODULE
from assay.sandbox import REPORT_FD

USAGE_ERROR = 4
"""pytest's exit code for bad command-line options (addopts included)."""

COMMON = ["-p", PLUGIN_MODULE, "-p", "no:cacheprovider", "--color=no", "-q"]


def run_argv(
    python: Path, *, rootdir: Path, select_file: Path, test_timeout_s: float,
    output_limit: int, args: list[str], override: list[str] | None = None,
) -> list[str]:
    """One pytest process for a batch: collection errors in one file spare the others."""
    return [
        str(python), "-m", "pytest", *COMMON, *disable_args(python), *pinned_args(rootdir),
        "--continue-on-collection-errors",
        f"--assay-report-fd={REPORT_FD}",
        f"--assay-select={select_file}",
        f"--assay-test-timeout={test_timeout_s:g}",
        f"--assay-output-limit={output_limit}",
        *(override or []),
        "--", *args,
    ]


def pytest_arguments(argv: list[str]) -> list[str]:
    """What `run_argv` passes to pytest itself, without `python -m pytest` (a warm
    runner's child calls `pytest.main` with these)."""
    if argv[1:3] != ["-m", "pytest"]:
        raise ValueError(f"not a `python -m pytest` command: {argv[:3]}")
    return argv[3:]


def collect_argv(python: Path, project: Path, override: list[str] | None = None) -> list[str]:
    """Like `pytest --collect-only -q` run by hand in the project: same config, same ids."""
    return [str(python), "-m", "pytest", *COMMON, *disable_args(python), *pinned_args(project),
            "--collect-only",
            "--continue-on-collection-errors",
            f"--assay-report-fd={REPORT_FD}", *(override or [])]


def environment_root(python: Path) -> list[Path]:
    """The venv the interpreter belongs to, which the sandbox must be able to read."""
    root = python.parent.parent
    return [root] if (root / "pyvenv.cfg").exists() else []
