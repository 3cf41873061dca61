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

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assay.environments import EnvironmentBuildError
from assay.errors import AssayError, InvalidInput, Misconfigured, Unavailable
from assay.runner import CollectionError
from assay.sandbox import SandboxPathError, SandboxUnavailable
from assay.snapshots import SnapshotError

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


def _permission_denied(exc: PermissionError, project_dir: str | None) -> AssayError:
    """The project's own unreadable file is its owner's to fix; any other is the server's."""
    where = exc.filename or "a file"
    if _inside(exc.filename, project_dir):
        return InvalidInput(
            f"the server cannot read {where} of the project (permission denied); "
            "make the project's files readable by the user Assay runs as"
        )
    return Misconfigured(
        f"the server was denied access to {where}; an administrator must fix the "
        "permissions of Assay's data directory"
    )


def project_failure(exc: BaseException, project_dir: str | None = None) -> AssayError | None:
    """The error to answer for a known failure of working with a project's code, or None.

    Its kind (and so the status code) is the failure's own; what it adds is the
    sentence a person reads: what failed, the end of the tool's output, what to do.
    `project_dir` is the project's own directory (path sources), to tell a file of
    the project from one of the server.
    """
    if isinstance(exc, CollectionError):
        summary = f"{_first_line(exc)}; fix the project's tests and try again"
        return InvalidInput(_with_output(summary, exc.output))
    if isinstance(exc, EnvironmentBuildError):
        summary = (
            f"building the project's environment failed: {_first_line(exc)}; "
            "fix that declaration, or choose others in the project's settings"
        )
        return InvalidInput(_with_output(summary, exc.log_tail))
    if isinstance(exc, SnapshotError):
        return InvalidInput(f"the project's source cannot be read: {exc}")
    if isinstance(exc, SandboxUnavailable):
        return Unavailable(f"the sandbox is not available on this server: {exc}")
    if isinstance(exc, SandboxPathError):  # before PermissionError, its base class
        return Unavailable(f"the sandbox cannot run on this server: {exc}")
    if isinstance(exc, PermissionError):
        return _permission_denied(exc, project_dir)
    # A failed project build, an unreadable declaration, a vanished path, an invalid
    # pyproject: the message says it all.
    if isinstance(exc, InvalidInput | FileNotFoundError | ValueError):
        return InvalidInput(str(exc))
    return None


def describe_failure(exc: BaseException) -> str:
    """The message a person reads for a failure of background work on a project."""
    answer = project_failure(exc)
    if answer is None:
        return f"internal error: {type(exc).__name__}; see the server log"
    return str(answer)


@contextmanager
def answering_project_failures(project_dir: str | None = None) -> Iterator[None]:
    """Turn a known failure inside the block into its answer; let others propagate.

    Failures the operator must fix are logged with their traceback by the handler
    that answers them: the person who sees the answer is often not the one who can
    act on it.
    """
    try:
        yield
    except Exception as exc:
        answer = project_failure(exc, project_dir)
        if answer is None:
            raise
        raise answer from exc
