"""Failures of preparing or running a project's code, as answers a person can act on.

Importing a suite, starting a generation or listing symbols snapshots the project
(a git fetch for git sources), builds its environment and runs pytest in the
sandbox. Each step has failures of its own, and who must act differs: the
project's owner (a broken test module, an uninstallable requirement, a missing
ref: 422) or the server's operator (no sandbox on this machine, a data directory
the sandbox user cannot reach: 503). Anything else is left to the app-wide
handler, which answers a JSON 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import HTTPException, status

from assay.environments import EnvironmentBuildError
from assay.environments.install import ProjectBuildError
from assay.runner import CollectionError
from assay.sandbox import SandboxPathError, SandboxUnavailable
from assay.snapshots import SnapshotError

log = logging.getLogger("assay.server")

OUTPUT_TAIL = 4000
"""How much of a tool's output an answer carries: the end, where the cause usually is."""


def _with_output(summary: str, output: str) -> str:
    output = output.strip()
    return f"{summary}\n\n{output[-OUTPUT_TAIL:]}" if output else summary


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _inside(path: str | None, root: str | None) -> bool:
    if not path or not root:
        return False
    target, base = Path(path).resolve(), Path(root).resolve()
    return target == base or base in target.parents


def _permission_denied(exc: PermissionError, project_dir: str | None) -> HTTPException:
    """The project's own unreadable file is its owner's to fix; any other is the server's."""
    where = exc.filename or "a file"
    if _inside(exc.filename, project_dir):
        return HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"the server cannot read {where} of the project (permission denied); "
            "make the project's files readable by the user Assay runs as",
        )
    return HTTPException(
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        f"the server was denied access to {where}; an administrator must fix the "
        "permissions of Assay's data directory",
    )


def project_failure(exc: BaseException, project_dir: str | None = None) -> HTTPException | None:
    """The answer for a known failure of working with a project's code; None if unknown.

    `project_dir` is the project's own directory (path sources), to tell a file of
    the project from one of the server.
    """
    unprocessable = status.HTTP_422_UNPROCESSABLE_CONTENT
    unavailable = status.HTTP_503_SERVICE_UNAVAILABLE
    if isinstance(exc, CollectionError):
        summary = f"{_first_line(exc)}; fix the project's tests and try again"
        return HTTPException(unprocessable, _with_output(summary, exc.output))
    if isinstance(exc, EnvironmentBuildError):
        summary = (
            f"building the project's environment failed: {_first_line(exc)}; "
            "fix that declaration, or choose others in the project's settings"
        )
        return HTTPException(unprocessable, _with_output(summary, exc.log_tail))
    if isinstance(exc, ProjectBuildError):
        return HTTPException(unprocessable, str(exc))
    if isinstance(exc, SnapshotError):
        return HTTPException(unprocessable, f"the project's source cannot be read: {exc}")
    if isinstance(exc, SandboxUnavailable):
        return HTTPException(unavailable, f"the sandbox is not available on this server: {exc}")
    if isinstance(exc, SandboxPathError):  # before PermissionError, its base class
        return HTTPException(unavailable, f"the sandbox cannot run on this server: {exc}")
    if isinstance(exc, PermissionError):
        return _permission_denied(exc, project_dir)
    if isinstance(exc, FileNotFoundError | ValueError):  # a vanished path, an invalid pyproject
        return HTTPException(unprocessable, str(exc))
    return None


def describe_failure(exc: BaseException) -> str:
    """The message a person reads for a failure of background work on a project."""
    answer = project_failure(exc)
    if answer is None:
        return f"internal error: {type(exc).__name__}; see the server log"
    return str(answer.detail)


@contextmanager
def answering_project_failures(project_dir: str | None = None) -> Iterator[None]:
    """Turn a known failure inside the block into its answer; let others propagate.

    Failures the operator must fix are logged with their traceback: the person who
    sees the answer is often not the one who can act on it.
    """
    try:
        yield
    except Exception as exc:
        answer = project_failure(exc, project_dir)
        if answer is None:
            raise
        if answer.status_code >= 500:
            log.warning("project work failed: %s", answer.detail, exc_info=exc)
        raise answer from exc
