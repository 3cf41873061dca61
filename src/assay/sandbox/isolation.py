"""Choosing and describing the isolation a sandboxed run gets.

Two levels exist. `bwrap` (bubblewrap) gives a PID namespace that dies with its
parent, no network, a read-only view of the system and only the workspace
writable. `process` is what is left without it: a session of its own under a
reaper, rlimits, an unprivileged uid when we are root, and (as root) a private
network namespace. `auto` picks the strongest one available.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from assay.errors import Unavailable
from assay.sandbox.identity import Identity
from assay.sandbox.view import View, bwrap_view_args

BWRAP = "/usr/bin/bwrap"
MODES = ("auto", "bwrap", "process")


class SandboxUnavailable(Unavailable, RuntimeError):
    """The isolation asked for cannot be provided on this machine."""


def bwrap_path() -> str | None:
    """Where bubblewrap lives, preferring the system copy over anything on PATH."""
    if Path(BWRAP).is_file():
        return BWRAP
    return shutil.which("bwrap")


def resolve_isolation(mode: str) -> str:
    """Turn a configured mode into the one that will actually run.

    Asking for `bwrap` explicitly on a machine without it is an error rather than
    a silent downgrade: the operator asked for a guarantee we cannot give. So is
    `auto` without bubblewrap on a server that is not root: `process` would then
    run tests as the server's own user, able to read everything that user can
    (its home, Assay's secret key and database), and only an explicit
    `ASSAY_SANDBOX=process` accepts that.
    """
    if mode not in MODES:
        raise ValueError(f"unknown isolation mode {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "process":
        return "process"
    if bwrap_path() is not None:
        return "bwrap"
    if mode == "bwrap":
        raise SandboxUnavailable(
            "isolation 'bwrap' was requested but bubblewrap is not installed "
            "(install the 'bubblewrap' package or use isolation 'auto'/'process')"
        )
    if os.geteuid() != 0:
        raise SandboxUnavailable(WEAK_REFUSED)
    return "process"


WEAK_REFUSED = (
    "bubblewrap is not installed, and this server does not run as root: without it a "
    "test would run as the server's own user and could read that user's files, Assay's "
    "secret key and its database. Install bubblewrap (the 'bubblewrap' package), or set "
    "ASSAY_SANDBOX=process to accept that weaker isolation."
)

WEAK_WARNING = (
    "process isolation as an unprivileged user: tests run as the server's own user and "
    "can read what it can read (its home, Assay's data dir); install bubblewrap"
)


def describe_isolation(mode: str) -> dict[str, str | None]:
    """For health: the isolation a run gets here, what to know about it, or why there is none."""
    try:
        resolved = resolve_isolation(mode)
    except SandboxUnavailable as exc:
        return {"configured": mode, "isolation": "unavailable", "warning": None,
                "error": str(exc)}
    return {"configured": mode, "isolation": resolved, "warning": isolation_warning(resolved),
            "error": None}


def isolation_warning(mode: str) -> str | None:
    """What a person should know about the isolation `mode` gives, or None."""
    if mode == "process" and os.geteuid() != 0:
        return WEAK_WARNING
    return None


def bwrap_argv(argv: Sequence[str], *, view: View, identity: Identity) -> list[str]:
    """Wrap `argv` in a bubblewrap invocation that shows it only `view`.

    Run by root, bwrap needs no user namespace (root may mount) and the sandboxed
    command drops to the sandbox uid through `setpriv` as its first step: an
    unprivileged uid on the host is what makes RLIMIT_NPROC apply (it never does
    to root, even inside a user namespace). Run by anyone else, bwrap maps the
    caller's own uid into a new user namespace, and the view is what protects the
    caller's files.
    """
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is not installed")
    cmd = [bwrap, "--die-with-parent", "--new-session"]
    if identity.drops_privileges:
        setpriv = shutil.which("setpriv", path="/usr/bin:/bin")
        if setpriv is None:
            raise SandboxUnavailable("setpriv (util-linux) is needed to drop privileges in bwrap")
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        drop = [setpriv, f"--reuid={identity.uid}", f"--regid={identity.gid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    else:
        cmd += ["--unshare-all"]
        drop = []
    names: list[str] = []
    if identity.names is not None:  # bound over the host's, so the leased uid has a name
        for file in ("passwd", "group"):
            names += ["--ro-bind", str(identity.names / file), f"/etc/{file}"]
    return [*cmd, *bwrap_view_args(view), *names, "--", *drop, *argv]
