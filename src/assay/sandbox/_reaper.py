"""Reaper: the trusted first process of every sandboxed run (stdlib only).

It runs as the worker's user, marks itself a child subreaper, forks the
sandboxed command (rlimits, private network when root, unprivileged uid) and
waits. Every descendant that is orphaned, including one that called setsid() to
leave the process group, is re-parented to this process instead of init, so
"kill the job" is exact: kill every descendant of the reaper until none is left.
That happens when the command exits, on SIGTERM from the worker, or when the
worker dies (PR_SET_PDEATHSIG). Run as: python -I -S _reaper.py CONFIG_JSON.
"""

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
from types import FrameType
from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNET = 0x40000000


def descendants(root: int) -> list[int]:
    """Pids below `root`, read from /proc (children before their own children)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree() -> None:
    """SIGKILL every descendant, again and again, until a pass finds none.

    Repeating matters: a fork bomb creates processes while we kill, and children
    of killed processes come back to us (subreaper) to be found on the next pass.
    """
    me = os.getpid()
    for _ in range(10000):
        pids = descendants(me)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return


def run_child(cfg: dict[str, Any]) -> None:
    try:
        for fd_from, fd_to in cfg["fd_map"]:
            if fd_from != fd_to:
                os.dup2(fd_from, fd_to)
                os.close(fd_from)
            os.set_inheritable(fd_to, True)
        if cfg["private_net"]:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.unshare(CLONE_NEWNET)  # best effort: lo only, down
        for res, soft, hard in cfg["rlimits"]:
            resource.setrlimit(res, (soft, hard))
        if cfg["uid"] is not None:
            os.setgroups([])
            os.setgid(cfg["gid"])
            os.setuid(cfg["uid"])
        os.chdir(cfg["cwd"])
        os.execvpe(cfg["argv"][0], cfg["argv"], cfg["env"])
    except BaseException as exc:
        os.write(2, f"sandbox: cannot start {cfg['argv'][0]!r}: {exc}\n".encode())
    os._exit(127)


def main() -> int:
    cfg = json.loads(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # re-raised SIGXCPU must not dump core
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != cfg["parent"]:
        return 137  # the worker died before we could watch it

    def on_signal(signum: int, frame: FrameType | None) -> None:
        kill_tree()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    child = os.fork()
    if child == 0:
        run_child(cfg)
    for fd_from, _ in cfg["fd_map"]:
        os.close(fd_from)  # so the reader sees EOF when the tree is gone
    status = None
    while True:
        try:
            pid, st = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == child:
            status = st
            kill_tree()  # leftovers (daemons, setsid escapees) die with the command
    if status is None:
        return 137
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status))
        if sig != signal.SIGKILL:
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)  # report the child's death as our own
        return 128 + sig
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
