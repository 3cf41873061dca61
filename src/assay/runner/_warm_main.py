"""The warm runner: one sandboxed process per environment that forks a pytest per job.

Started inside the sandbox with the environment's interpreter (stdlib + pytest
only: Assay itself is not installed there), it imports pytest, Assay's plugin and
the environment's pytest plugins once, freezes its heap and keeps one child
forked ahead. A job then costs a fork that already happened and `pytest.main`,
instead of an interpreter start, imports and plugin discovery.

It never imports the project's code (that changes with every commit): the host
compares the project's top-level names with the modules this process holds and
starts cold when they meet.

Protocol, over the SOCK_SEQPACKET socket on fd 3 (one JSON object a message):
  -> {"op": "run", "job", "argv", "cwd", "env", "path", "site", "rlimits"}
     with three file descriptors: stdout, stderr and the plugin's report pipe
  -> {"op": "kill", "job"}         kill the job's whole process tree
  <- {"op": "ready", "modules": [...], "threads": n, "pid": n}
  <- {"op": "exit", "job", "status": n}   n as from waitpid's decoding: the exit
                                          code, or -signal
Only one job runs at a time; its leftovers (daemons, setsid() escapees) die
when it ends, as under the cold reaper.

It runs as the sandbox's uid, exactly as a cold test does (under bubblewrap,
dropped by setpriv before it starts), so a child has nothing to drop but
lowers its rlimits and sets no_new_privs. Run as:
python -s _warm_main.py PLUGIN_DIR SCRATCH_DIR [-p no:PLUGIN ...], where PLUGIN_DIR
holds `_assay_stream.py`, SCRATCH_DIR is an empty directory it may write in, and the
rest are the plugins the environment's jobs turn off.
"""

import contextlib
import ctypes
import gc
import importlib
import importlib.util
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import threading
from typing import Any

from _reaper import descendants  # copied beside this file (assay.runner.warm)

CONTROL_FD = 3
REPORT_FD = 3
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
JOB_NAME = b"assay-job"
"""A forked job's process name (comm): its command line is still the warm runner's."""
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
START_FAILED = 198
"""A child's exit code when it could not become the job (the host then runs it cold)."""
MESSAGE_LIMIT = 1 << 20


def warm_up(plugin_dir: str, scratch: str, disabled: list[str]) -> None:
    """Import what every job in this environment imports before its first test.

    By running pytest once, on an empty directory, with Assay's plugin: the
    plugins then come in exactly as in a job (through pytest's assertion-rewriting
    import hook, so a job's pytest does not warn that they were imported before
    it could rewrite them), and so do the libraries the plugins load late, such
    as hypothesis (imported by its plugin's terminal summary). `disabled` are the
    `-p no:<plugin>` arguments every job of the environment passes: what they turn
    off must not be imported here either.
    """
    sys.path.insert(0, plugin_dir)
    os.makedirs(scratch, exist_ok=True)
    os.chdir(scratch)
    import pytest

    pytest.main(["-q", "-p", "_assay_stream", "-p", "no:cacheprovider", *disabled,
                 "--collect-only", scratch])
    os.chdir("/")
    sys.path.remove(plugin_dir)


def kill_tree(spare: int | None) -> None:
    """SIGKILL every descendant but the spare child, until a pass finds none."""
    me = os.getpid()
    for _ in range(10000):
        pids = [p for p in descendants(me) if p != spare]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        reap(spare)


def reap(spare: int | None, job: int | None = None) -> int | None:
    """Collect exited children without blocking; return the job child's status if it ended."""
    status = None
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == job:
            status = -os.WTERMSIG(st) if os.WIFSIGNALED(st) else os.WEXITSTATUS(st)


SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
"""The sandbox's own tmpfs mounts: they live as long as this process, so a job's files
there are removed before the next job can see them."""


def mount_points() -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return [line.split()[4] for line in f if len(line.split()) > 4]


def clear_scratch() -> None:
    """Empty the scratch mounts, leaving alone whatever holds a bind (a workspace or an
    environment bound below /tmp must not be touched)."""
    mounts = mount_points()
    for top in SCRATCH_DIRS:
        with contextlib.suppress(OSError):
            for entry in os.scandir(top):
                if any(m == entry.path or m.startswith(entry.path + "/") for m in mounts):
                    continue
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)


def become_job(request: dict[str, Any], fds: list[int]) -> int:
    """In the forked child: take the job's fds, environment, limits and uid; run pytest."""
    os.setsid()
    out, err, report = fds
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.dup2(report, REPORT_FD)
    os.closerange(REPORT_FD + 1, os.sysconf("SC_OPEN_MAX"))  # ours, and the received ones
    os.set_inheritable(REPORT_FD, True)
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None
    sys.path[:0] = [request["cwd"], *request["path"]]
    if request.get("site"):
        spec = importlib.util.spec_from_file_location("sitecustomize", request["site"])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)
    importlib.invalidate_caches()
    for res, soft, hard in request["rlimits"]:
        resource.setrlimit(res, (soft, hard))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    # Its cmdline stays the runner's: the name tells `ps`/`pgrep` which one is a job.
    libc.prctl(PR_SET_NAME, JOB_NAME, 0, 0, 0)
    sys.argv = ["pytest", *request["argv"]]
    gc.enable()
    import pytest

    return int(pytest.main(request["argv"]))


def spare_child(channel: socket.socket) -> None:
    """The child forked ahead: wait for a job, become it, exit with pytest's status."""
    code = START_FAILED
    try:
        data, fds, _, _ = socket.recv_fds(channel, MESSAGE_LIMIT, 3)
        channel.close()
        if not data:
            os._exit(0)
        request = json.loads(data)
        try:
            code = become_job(request, fds)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # reported; the host then runs the job cold
            os.write(2, f"assay warm runner: could not start the job: {exc!r}\n".encode())
            code = START_FAILED
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class Zygote:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.spare: int | None = None
        self.spare_channel: socket.socket | None = None
        self.job: tuple[str, int] | None = None

    def fork_spare(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            mine.close()
            self.control.close()
            spare_child(theirs)
        theirs.close()
        self.spare, self.spare_channel = pid, mine

    def send(self, message: dict[str, Any]) -> None:
        self.control.send(json.dumps(message).encode())

    def on_control(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self.control, MESSAGE_LIMIT, 3)
        except OSError:
            return False
        if not data:
            return False  # the host closed its end: our work is over
        request = json.loads(data)
        if request["op"] == "run" and self.job is None and self.spare_channel is not None:
            socket.send_fds(self.spare_channel, [data], fds)
            self.spare_channel.close()
            for fd in fds:
                os.close(fd)  # before the next fork: the new spare must not hold the pipes
            fds = []
            assert self.spare is not None
            self.job = (request["job"], self.spare)
            self.spare = self.spare_channel = None
            self.fork_spare()
        elif request["op"] == "run":
            self.send({"op": "exit", "job": request["job"], "status": START_FAILED})
        elif request["op"] == "kill" and self.job is not None and self.job[0] == request["job"]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.job[1], signal.SIGKILL)
            kill_tree(self.spare)
        for fd in fds:
            os.close(fd)
        return True

    def on_child(self) -> None:
        if self.job is None:
            reap(self.spare)
            return
        name, pid = self.job
        status = reap(self.spare, pid)
        if status is None:
            return
        kill_tree(self.spare)  # leftovers die with the job, as under the cold reaper
        clear_scratch()
        self.job = None
        self.send({"op": "exit", "job": name, "status": status})

    def serve(self) -> None:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        selector = selectors.DefaultSelector()
        selector.register(self.control, selectors.EVENT_READ, "control")
        selector.register(wake_r, selectors.EVENT_READ, "child")
        self.fork_spare()
        self.send({"op": "ready", "pid": os.getpid(), "threads": threading.active_count(),
                   "modules": sorted({m.split(".", 1)[0] for m in sys.modules})})
        while True:
            for key, _ in selector.select():
                if key.data == "child":
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_r, 4096)
                    self.on_child()
                elif not self.on_control():
                    kill_tree(None)
                    return


def main() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    control = socket.socket(fileno=CONTROL_FD)
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != os.path.dirname(
        os.path.abspath(__file__))]
    warm_up(sys.argv[1], sys.argv[2], sys.argv[3:])
    gc.disable()
    gc.freeze()  # children share these pages: the collector must not touch them
    Zygote(control).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
