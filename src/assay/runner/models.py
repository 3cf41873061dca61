"""A job as the runner runs it on this machine.

What crosses a process (the items, the per-item events, the outcome) is defined in
`assay.contracts.jobs` and re-exported here; `Job` itself never leaves the process
that runs it: it holds this machine's paths (interpreter, snapshot, workspaces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assay.contracts.jobs import ItemFinished, ItemStarted, JobItem, JobOutcome, JobSpec
from assay.sandbox import Limits

if TYPE_CHECKING:
    from assay.environments import Environment

__all__ = ["ItemFinished", "ItemStarted", "Job", "JobItem", "JobOutcome", "job_for"]


@dataclass
class Job:
    """A batch of test cases run by one pytest process in one scratch workspace."""

    job_id: str
    items: list[JobItem]
    python: Path
    snapshot_dir: Path | None
    workspaces_dir: Path
    limits: Limits
    test_timeout_s: float = 60.0
    isolation: str = "auto"
    install_dir: Path | None = None
    """Where the project's install for this snapshot is cached; None: not installed."""
    test_env: dict[str, str] = field(default_factory=dict)
    pytest_args: list[str] = field(default_factory=list)


def job_for(spec: JobSpec, env: Environment, snapshot_dir: Path, workspaces_dir: Path) -> Job:
    """The runner's job for `spec` in `env`; the project is installed (cached per snapshot)
    when its spec says."""
    install = env.install_dir(spec.snapshot_hash) if spec.env_spec.install_project else None
    return Job(
        install_dir=install,
        test_env=spec.test_env,
        pytest_args=spec.pytest_args,
        job_id=spec.job_id,
        items=spec.items,
        python=env.python,
        snapshot_dir=snapshot_dir,
        workspaces_dir=workspaces_dir,
        limits=spec.limits,
        test_timeout_s=spec.test_timeout_s,
        isolation=spec.isolation,
    )
