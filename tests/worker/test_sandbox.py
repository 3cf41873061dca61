"""The sandbox contains hostile tests and reports them (real processes, both isolations)."""

from __future__ import annotations

import asyncio
import os
import socket
import textwrap
import threading
import time
from pathlib import Path

import pytest

from assay.sandbox import Limits, SandboxUnavailable, resolve_isolation, run_sandboxed
from assay.sandbox import isolation as isolation_module
from assay.sandbox.identity import NOBODY, SANDBOX_UIDS
from tests.worker.conftest import ISOLATIONS, code, make_job, run

PY = "/usr/bin/python3"


def sandboxed(script: str, ws: Path, isolation: str, **limits: float) -> tuple[int | None, str]:
    ws.mkdir(exist_ok=True)
    res = asyncio.run(run_sandboxed([PY, "-c", script], workspace=ws, isolation=isolation,
                                    limits=Limits(**limits)))  # type: ignore[arg-type]
    return res.exit_code, res.stdout + res.stderr


def test_resolve_isolation() -> None:
    assert resolve_isolation("process") == "process"
    assert resolve_isolation("auto") in ("bwrap", "process")
    with pytest.raises(ValueError):
        resolve_isolation("docker")
    if not ISOLATIONS.count("bwrap"):
        with pytest.raises(SandboxUnavailable):
            resolve_isolation("bwrap")


def test_auto_never_falls_back_to_weak_isolation_for_an_unprivileged_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without bubblewrap, a server that is not root runs tests only when told to accept it."""
    monkeypatch.setattr(isolation_module, "bwrap_path", lambda: None)  # a machine without it
    monkeypatch.setattr(isolation_module.os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxUnavailable, match="ASSAY_SANDBOX=process"):
        resolve_isolation("auto")
    assert resolve_isolation("process") == "process"
    described = isolation_module.describe_isolation("process")
    assert described["isolation"] == "process" and "can read" in (described["warning"] or "")
    assert isolation_module.describe_isolation("auto")["isolation"] == "unavailable"


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_environment_is_scrubbed_and_identity_dropped(
    scratch: Path, isolation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_SECRET_KEY", "do-not-leak")
    code_, out = sandboxed(
        "import os; print(sorted(os.environ)); print(os.getuid()); print(os.environ['HOME'])",
        scratch / "ws", isolation)
    assert code_ == 0
    assert "ASSAY_SECRET_KEY" not in out and "do-not-leak" not in out
    if os.geteuid() == 0:
        uid = int(out.splitlines()[1])
        assert uid != 0 and (uid in SANDBOX_UIDS or uid == NOBODY), out
    assert str(scratch / "ws") in out


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_wall_timeout_kills(scratch: Path, isolation: str) -> None:
    res = asyncio.run(run_sandboxed([PY, "-c", "import time; time.sleep(60)"],
                                    workspace=scratch, isolation=isolation,
                                    limits=Limits(wall_seconds=1.0)))
    # The guarantee is that the wall limit ended the run, not the sleep: `timed_out`
    # says the parent's timer fired, and the bound (half the sleep, far above the 1 s
    # limit plus a kill on a loaded machine) says the process did not run to its end.
    assert res.timed_out and res.duration_s < 30


def test_output_is_bounded(scratch: Path) -> None:
    lines: list[str] = []
    res = asyncio.run(run_sandboxed(
        [PY, "-c", "import sys\nfor i in range(100000): print('line', i)"],
        workspace=scratch, limits=Limits(output_bytes=1000), on_stdout_line=lines.append))
    assert len(res.stdout) <= 1000 and res.stdout.endswith("line 99999\n")
    assert len(lines) == 100000


def test_process_isolation_names_an_unreachable_path(scratch: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root drops to the sandbox uid")
    hidden = scratch / "hidden"
    hidden.mkdir(mode=0o700)
    (hidden / "env").mkdir()
    with pytest.raises(PermissionError, match="not world-searchable"):
        asyncio.run(run_sandboxed([PY, "-c", "pass"], workspace=scratch, limits=Limits(),
                                  isolation="process", readonly_paths=[hidden / "env"]))


@pytest.mark.skipif("bwrap" not in ISOLATIONS, reason="needs bubblewrap")
def test_a_sandboxed_test_reads_the_system_configuration_it_may_need(scratch: Path) -> None:
    """Names, local time and TLS roots: what `getpwuid`, `zoneinfo`/dateutil and `ssl`
    read. (Run as root, bwrap made the /etc holding them 0700: nobody could enter it,
    and python-dateutil's `gettz(":/etc/localtime")` test failed only under Assay.)"""
    script = textwrap.dedent("""
        import os, pwd, ssl
        print(pwd.getpwuid(os.getuid()).pw_name != "")
        print(os.path.isfile("/etc/localtime") and bool(open("/etc/localtime", "rb").read(4)))
        print(len(ssl.create_default_context().get_ca_certs(binary_form=True)) >= 0)
        print(os.access("/etc/ssl/certs", os.R_OK | os.X_OK))
    """)
    rc, out = sandboxed(script, scratch / "ws", "bwrap")
    assert rc == 0, out
    assert out.split() == ["True", "True", "True", "True"]


def test_bwrap_reaches_what_it_needs_under_private_directories(scratch: Path) -> None:
    """A 0700 directory above the workspace and the environment (a private home, a
    mkdtemp data dir) does not matter: both are bound in, and nothing else of it is."""
    private = scratch / "home"
    private.mkdir(mode=0o700)
    (private / ".ssh").mkdir()
    (private / ".ssh" / "id_ed25519").write_text("PRIVATE KEY")
    env = private / "data" / "envs" / "e1"
    env.mkdir(parents=True)
    (env / "marker.txt").write_text("env-ok")
    (private / "data" / "secret-key").write_text("signing-key")
    ws = private / "data" / "workspaces" / "job-1"
    ws.mkdir(parents=True)
    script = textwrap.dedent(f"""
        import os
        print(open({str(env / "marker.txt")!r}).read())
        open("written.txt", "w").write("ws-ok")
        print(sorted(os.listdir({str(private)!r})), sorted(os.listdir({str(private / "data")!r})))
        print(os.path.exists({str(private / ".ssh")!r}), os.path.exists("/root/.bash_history"))
    """)
    res = asyncio.run(run_sandboxed([PY, "-c", script], workspace=ws, isolation="bwrap",
                                    limits=Limits(), readonly_paths=[env]))
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "env-ok"
    assert lines[1] == "['data'] ['envs', 'workspaces']"  # no secret-key, no .ssh
    assert lines[2] == "False False"
    assert (ws / "written.txt").read_text() == "ws-ok"


HOSTILE = {
    "infinite_loop": "def test_loop():\n    while True:\n        pass\n",
    "fork_bomb": textwrap.dedent("""
        import os, time
        def test_fork_bomb():
            n = 0
            try:
                while True:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    n += 1
            except OSError as exc:
                raise AssertionError(f"fork refused after {n} children: {exc}")
    """),
    "memory_hog": "def test_hog():\n    blob = bytearray(3 << 30)\n    assert blob\n",
    "secret": textwrap.dedent("""
        import glob, os
        def test_no_secret():
            assert not [k for k in os.environ if k.startswith("ASSAY_")]
            for path in glob.glob("/proc/*/environ"):
                try:
                    assert b"hostile-secret" not in open(path, "rb").read()
                except OSError:
                    pass
    """),
}


@pytest.mark.serial  # a fork bomb takes every process the sandbox uid may start
@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_hostile_suite_is_contained_and_reported(
    base_python: Path, scratch: Path, isolation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_SECRET_KEY", "hostile-secret")
    outside = scratch / "outside.txt"
    escape = scratch.parent / f"escape-{scratch.name}"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted: list[object] = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    items = [code(key, src) for key, src in HOSTILE.items()]
    items.append(code("write_outside", textwrap.dedent(f"""
        import pytest
        def test_write():
            for path in ({str(outside)!r}, {str(escape)!r}):
                try:  # under bwrap this lands in the sandbox's private /tmp, if anywhere
                    open(path, "w").write("owned")
                except OSError:
                    pass
            with pytest.raises(OSError):
                open("/etc/assay-owned", "w").write("owned")
    """)))
    items.append(code("network", textwrap.dedent(f"""
        import socket, pytest
        def test_connect():
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", {port}), timeout=2)
    """)))
    items.append(code("still_runs", "def test_ok():\n    pass\n"))
    job = make_job(base_python, scratch, items, isolation=isolation, test_timeout_s=2.0,
                   memory_bytes=1 << 30, max_processes=64, cpu_seconds=30)
    try:
        res = run(job).results
    finally:
        server.close()
    assert res["infinite_loop"].outcome == "failed"
    assert "timed out after 2s" in (res["infinite_loop"].failure or "")
    assert res["fork_bomb"].outcome == "failed"
    assert "fork refused" in (res["fork_bomb"].failure or "")
    assert res["memory_hog"].outcome == "failed"
    assert "MemoryError" in (res["memory_hog"].failure or "")
    assert res["secret"].outcome == "passed", res["secret"].failure
    if os.geteuid() == 0:  # a normal user may write where it always could
        assert res["write_outside"].outcome == "passed", res["write_outside"].failure
        assert not outside.exists() and not escape.exists()
    if isolation == "bwrap" or os.geteuid() == 0:  # root gets a private netns in process mode
        assert res["network"].outcome == "passed", res["network"].failure
        assert not accepted
    assert res["still_runs"].outcome == "passed"


NEIGHBOUR = """
import os, pathlib, time
pathlib.Path("started").touch()
while not pathlib.Path("go").exists():
    time.sleep(0.01)
children = []
try:
    for _ in range(20):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        children.append(pid)
finally:
    for pid in children:
        os.waitpid(pid, 0)
print("forked", len(children))
"""

BOMB = """
import os, pathlib, time
n = 0
try:
    while True:
        if os.fork() == 0:
            while not pathlib.Path("go").exists():
                time.sleep(0.05)
            os._exit(0)
        n += 1
except OSError:
    pass
pathlib.Path("full").write_text(str(n))
while not pathlib.Path("go").exists():
    time.sleep(0.01)
"""


def _until(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} did not appear within {timeout} s"
        time.sleep(0.01)


ROOT_BWRAP = pytest.mark.skipif(
    os.geteuid() != 0 or "bwrap" not in ISOLATIONS,
    reason="only root under bubblewrap leases a uid per sandbox: a user's sandboxes run "
    "as that user, and `process` isolation as root shares `nobody` (the host's "
    "/etc/passwd names no other)")


@ROOT_BWRAP
def test_a_fork_bomb_leaves_a_running_neighbour_its_processes(scratch: Path) -> None:
    """RLIMIT_NPROC counts per uid: sandboxes sharing one would share one budget, and a
    neighbour that started before the bomb could no longer fork at all."""
    limits = Limits(max_processes=32, wall_seconds=120)
    calm, bomb = scratch / "calm", scratch / "bomb"
    calm.mkdir()
    bomb.mkdir()

    async def scenario() -> tuple[str, str]:
        neighbour = asyncio.create_task(run_sandboxed(
            [PY, "-c", NEIGHBOUR], workspace=calm, isolation="bwrap", limits=limits))
        await asyncio.to_thread(_until, calm / "started")
        bomber = asyncio.create_task(run_sandboxed(
            [PY, "-c", BOMB], workspace=bomb, isolation="bwrap", limits=limits))
        await asyncio.to_thread(_until, bomb / "full")
        (calm / "go").touch()
        calm_res = await neighbour
        (bomb / "go").touch()
        bomb_res = await bomber
        assert bomb_res.exit_code == 0, bomb_res.stderr
        return calm_res.stdout + calm_res.stderr, (bomb / "full").read_text()

    out, bombed = asyncio.run(scenario())
    assert int(bombed) >= 25, f"the bomb forked only {bombed} children"  # it did fill up
    assert "forked 20" in out, out


WHO = """
import os, pathlib, pwd, time
print(os.getuid(), pwd.getpwuid(os.getuid()).pw_name)
pathlib.Path("up").touch()
while not pathlib.Path("go").exists():
    time.sleep(0.01)
"""


@ROOT_BWRAP
def test_concurrent_sandboxes_run_as_distinct_named_uids(scratch: Path) -> None:
    folders = [scratch / "a", scratch / "b"]
    for folder in folders:
        folder.mkdir()

    async def both() -> list[str]:
        runs = [asyncio.create_task(run_sandboxed(
            [PY, "-c", WHO], workspace=f, isolation="bwrap", limits=Limits(wall_seconds=60)))
            for f in folders]
        for folder in folders:  # both are running at once before either may end
            await asyncio.to_thread(_until, folder / "up")
        for folder in folders:
            (folder / "go").touch()
        return [(r.stdout + r.stderr).strip() for r in await asyncio.gather(*runs)]

    seen = [line.split() for line in asyncio.run(both())]
    uids = {int(uid) for uid, _ in seen}
    assert len(uids) == 2 and uids <= set(SANDBOX_UIDS), seen
    assert all(name.startswith("assay-sandbox-") for _, name in seen), seen
