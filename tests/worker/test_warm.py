"""Warm runners end to end: real bubblewrap, real forked pytest, compared with cold runs.

The promise is that a warm start changes nothing but the start-up cost: the same
suite gives the same outcome for every test warm and cold, nothing one job does
reaches the next, and cancel, timeouts and fallbacks behave as they do cold.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from assay.environments import EnvironmentPool, EnvSpec
from assay.runner import Job, JobItem
from assay.runner.warm import WarmRunners
from assay.sandbox._reaper import descendants
from assay.snapshots import snapshot_tree
from tests.gates import Gate
from tests.worker.conftest import ISOLATIONS, Recorded, code, make_job, record, ref
from tests.worker.test_runner import _processes_with, until

pytestmark = pytest.mark.skipif("bwrap" not in ISOLATIONS,
                                reason="warm runners need bubblewrap")
T = TypeVar("T")
JOB_NAME = "assay-job"  # runner/_warm_main.py names a forked job so (it imports nothing of ours)

SUITE: list[JobItem] = [
    code("hypothesis", textwrap.dedent("""
        from hypothesis import given, strategies as st

        @given(st.integers(), st.integers())
        def test_addition_commutes(a, b):
            assert a + b == b + a

        @given(st.lists(st.integers()))
        def test_sorted_is_idempotent_but_reversal_is_not(xs):
            assert sorted(sorted(xs)) == sorted(xs)
            assert list(reversed(xs)) == xs  # fails for [0, 1]: hypothesis finds it
    """)),
    code("globals", textwrap.dedent("""
        import json
        import pytest

        def test_patches_a_module_the_runner_holds():
            json.dumps = lambda *a, **k: "patched"
            pytest.assay_leak = True
            assert json.dumps({}) == "patched"

        def test_sees_its_own_patch():
            assert json.dumps({}) == "patched"
    """)),
    code("threads", textwrap.dedent("""
        import subprocess, sys, threading

        def test_thread_and_subprocess():
            box = []
            t = threading.Thread(target=lambda: box.append(threading.get_ident()))
            t.start(); t.join()
            out = subprocess.run([sys.executable, "-c", "print(6 * 7)"],
                                 capture_output=True, text=True, check=True).stdout
            assert box and out.strip() == "42"

        def test_daemon_thread_left_running():
            import time
            threading.Thread(target=time.sleep, args=(300,), daemon=True).start()
    """)),
    code("fixtures", textwrap.dedent("""
        import os

        def test_tmp_path(tmp_path):
            (tmp_path / "f.txt").write_text("x")
            assert (tmp_path / "f.txt").read_text() == "x"

        def test_monkeypatch(monkeypatch):
            monkeypatch.setenv("ASSAY_WARM_PROBE", "1")
            monkeypatch.setattr(os, "getcwd", lambda: "/nowhere")
            assert os.environ["ASSAY_WARM_PROBE"] == "1" and os.getcwd() == "/nowhere"

        def test_monkeypatch_was_undone():
            assert "ASSAY_WARM_PROBE" not in os.environ and os.getcwd() != "/nowhere"
    """)),
    code("mixed", textwrap.dedent("""
        import pytest

        def test_fails():
            assert 2 + 2 == 5

        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass

        @pytest.fixture
        def broken():
            raise RuntimeError("setup broke")

        def test_errors(broken):
            pass
    """)),
    code("syntax", "def test_broken(:\n    pass\n"),
    code("crash", "import os\n\ndef test_exit():\n    os._exit(3)\n"),
    code("after_crash", "def test_ok():\n    pass\n"),
]


def _named(comm: str) -> list[int]:
    """Our own descendants whose process name (comm) is `comm`.

    Only ours: another Assay on this machine (a server left by an earlier run) has
    jobs of the same name, which this test neither started nor may wait for.
    """
    found = []
    for pid in descendants(os.getpid()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == comm:
                found.append(pid)
        except OSError:
            continue
    return found


def _outcomes(rec: Recorded) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    return {key: (r.outcome, [(t["nodeid"].rsplit("::", 1)[-1], t["outcome"]) for t in r.tests])
            for key, r in rec.results.items()}


def _job(job: Job, job_id: str) -> Job:
    return dataclasses.replace(job, job_id=job_id)


def _warm_run(scenario: Callable[[WarmRunners], Awaitable[T]], home: Path,
              **kwargs: bool | int) -> T:
    async def main() -> T:
        warm = WarmRunners(home, **kwargs)  # type: ignore[arg-type]
        try:
            return await scenario(warm)
        finally:
            await warm.close()

    return asyncio.run(main())


@pytest.fixture
def warm_home(scratch: Path) -> Path:
    home = scratch / "warm"
    home.mkdir()
    return home


def test_a_suite_gives_the_same_outcome_for_every_test_warm_and_cold(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    job = make_job(base_python, scratch, SUITE, isolation="bwrap")
    cold = asyncio.run(record(_job(job, "cold")))

    async def twice(warm: WarmRunners) -> list[Recorded]:
        return [await record(_job(job, f"warm-{n}"), warm=warm) for n in range(2)]

    warm_runs = _warm_run(twice, warm_home)
    expected = _outcomes(cold)
    assert expected["hypothesis"][1] == [
        ("test_addition_commutes", "passed"),
        ("test_sorted_is_idempotent_but_reversal_is_not", "failed")]
    assert expected["crash"][0] == "error" and expected["after_crash"][0] == "passed"
    assert cold.outcome.start == "cold"
    for rec in warm_runs:  # the second run also shows nothing leaked from the first
        assert _outcomes(rec) == expected
        assert rec.outcome.start == "warm", rec.outcome.start_note
        assert {r.start for r in rec.results.values()} == {"warm"}
    assert "xs=[0, 1]" in (warm_runs[0].results["hypothesis"].failure or "")


def test_nothing_one_warm_job_leaves_reaches_the_next(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    token = f"assay-warm-daemon-{scratch.name}"
    leaver = textwrap.dedent(f"""
        import os, subprocess, sys
        import pytest

        PLACES = ["/tmp", "/var/tmp", "/dev/shm", os.path.dirname(os.getcwd()),
                  os.path.dirname(os.path.dirname(os.getcwd())), os.path.expanduser("~")]

        def test_leaves_things_behind():
            written = []
            for d in PLACES:
                try:
                    open(os.path.join(d, "assay-left-behind"), "w").write("x")
                    written.append(d)
                except OSError:
                    pass
            print("wrote in", written)
            assert written, "found nowhere to leave a file"
            os.environ["ASSAY_LEFT_BEHIND"] = "1"
            pytest.assay_left_behind = True
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{token}"],
                             start_new_session=True)
    """)
    checker = textwrap.dedent("""
        import os
        import pytest

        PLACES = ["/tmp", "/var/tmp", "/dev/shm", os.path.dirname(os.getcwd()),
                  os.path.dirname(os.path.dirname(os.getcwd())), os.path.expanduser("~")]

        def test_finds_nothing():
            left = [d for d in PLACES if os.path.exists(os.path.join(d, "assay-left-behind"))]
            assert left == []
            assert "ASSAY_LEFT_BEHIND" not in os.environ
            assert not hasattr(pytest, "assay_left_behind")
    """)

    async def scenario(warm: WarmRunners) -> tuple[Recorded, Recorded, int]:
        first = await record(make_job(base_python, scratch, [code("leaver", leaver)],
                                      isolation="bwrap"), warm=warm)
        daemons_after_first = len(_processes_with(token))
        second = await record(_job(make_job(base_python, scratch, [code("checker", checker)],
                                            isolation="bwrap"), "second"), warm=warm)
        return first, second, daemons_after_first

    first, second, daemons = _warm_run(scenario, warm_home)
    assert first.results["leaver"].outcome == "passed", first.results["leaver"].failure
    assert first.outcome.start == second.outcome.start == "warm"
    assert daemons == 0, "the job's setsid child outlived its job"
    assert second.results["checker"].outcome == "passed", second.results["checker"].failure


def test_the_next_jobs_copy_is_made_ahead_out_of_the_running_jobs_reach(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    snapshot = scratch / "snapshot"
    snapshot.mkdir()
    (snapshot / "data.txt").write_text("original\n")
    writer = code("writer", textwrap.dedent(f"""
        import os

        def test_writes_in_its_copy_and_cannot_see_the_next():
            with open("data.txt", "a") as f:
                f.write("changed by the first job\\n")
            home = os.path.dirname(os.path.dirname(os.getcwd()))
            assert home.startswith({str(warm_home)!r}), home
            assert not os.path.exists(home + ".next"), "the next job's copy is in reach"
    """))
    reader = code("reader", textwrap.dedent("""
        def test_sees_the_snapshot_as_it_is():
            assert open("data.txt").read() == "original\\n"
    """))

    async def scenario(warm: WarmRunners) -> tuple[Recorded, Recorded, int, bool]:
        first = await record(make_job(base_python, scratch, [writer], isolation="bwrap",
                                      snapshot=snapshot), warm=warm)
        copies = warm.copies(base_python)
        assert copies is not None
        await asyncio.to_thread(copies.wait)
        staged = any(copies.staging.iterdir())
        second = await record(_job(make_job(base_python, scratch, [reader], isolation="bwrap",
                                            snapshot=snapshot), "second"), warm=warm)
        return first, second, copies.reused, staged

    first, second, reused, staged = _warm_run(scenario, warm_home)
    assert first.outcome.start == second.outcome.start == "warm"
    assert first.results["writer"].outcome == "passed", first.results["writer"].failure
    assert staged, "no copy was made ahead for the next job"
    assert second.results["reader"].outcome == "passed", second.results["reader"].failure
    assert reused == 1
    assert (snapshot / "data.txt").read_text() == "original\n"


def test_a_dead_processs_runner_directories_are_swept_and_a_live_ones_kept(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    """A process killed with its warm runners leaves their homes, files and copies
    ahead behind; the next process to start a runner removes them, never a live one's."""
    holder = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from assay.runner.warm import _copies_dir, _own, _runner_dir

        home = Path({str(warm_home)!r}) / sys.argv[1]
        _own(home)
        for path in (home, _runner_dir(home), _copies_dir(home)):
            (path / "project").mkdir(parents=True)
        print("ready", flush=True)
        sys.stdin.read()
    """)
    procs = {name: subprocess.Popen([sys.executable, "-c", holder, name], text=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for name in ("warm-venv-1-0", "warm-venv-2-0")}
    for proc in procs.values():
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    dead, live = procs["warm-venv-1-0"], procs["warm-venv-2-0"]
    dead.send_signal(signal.SIGKILL)
    dead.wait()

    def names() -> set[str]:
        return {p.name for p in warm_home.iterdir()}

    async def scenario(warm: WarmRunners) -> tuple[Recorded, set[str]]:
        one = code("one", "def test_one():\n    pass\n")
        rec = await record(make_job(base_python, scratch, [one], isolation="bwrap"), warm=warm)
        return rec, names()

    try:
        rec, during = _warm_run(scenario, warm_home)
    finally:
        live.communicate("")
    assert rec.outcome.start == "warm", rec.outcome.start_note
    assert not {n for n in during if n.startswith("warm-venv-1-0")}, during
    assert {"warm-venv-2-0", "warm-venv-2-0.runner", "warm-venv-2-0.next",
            "warm-venv-2-0.lock"} <= during
    ours = {n for n in during if not n.startswith("warm-venv-2-0")}
    assert any(n.endswith(".lock") for n in ours), ours  # this process's runner holds one
    # Closing the runners removes all of theirs, lock included; the live one's stay.
    assert {n for n in names() if not n.startswith("warm-venv-2-0")} == set()


def test_cancel_kills_a_warm_jobs_whole_tree(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    token = f"assay-warm-orphan-{scratch.name}"
    source = textwrap.dedent(f"""
        import subprocess, sys, time

        def test_spawns():
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{token}"],
                             start_new_session=True)
            time.sleep(300)
    """)
    job = make_job(base_python, scratch, [code("sleeper", source),
                                          code("later", "def test_x():\n    pass\n")],
                   isolation="bwrap")

    async def scenario(warm: WarmRunners) -> tuple[Recorded, Recorded]:
        cancel = asyncio.Event()
        task = asyncio.create_task(record(job, cancel, warm=warm))
        await until(lambda: bool(_processes_with(token)), "the setsid child to start")
        jobs = _named(JOB_NAME)
        assert jobs, "a forked job is named for ps and pgrep"
        cancel.set()
        rec = await asyncio.wait_for(task, 60)
        await until(lambda: not _processes_with(token), "the setsid child to be killed")
        await until(lambda: not set(jobs) & set(_named(JOB_NAME)), "the job to end")
        after = await record(dataclasses.replace(
            job, job_id="after", items=[code("next", "def test_ok():\n    pass\n")]), warm=warm)
        return rec, after

    rec, after = _warm_run(scenario, warm_home)
    assert rec.outcome.cancelled and rec.outcome.start == "warm"
    assert rec.results["sleeper"].outcome == "error"
    assert rec.results["later"].outcome == "error"
    assert after.results["next"].outcome == "passed" and after.outcome.start == "warm"


def test_a_per_test_timeout_fails_that_test_and_the_batch_goes_on_warm(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    job = make_job(base_python, scratch, [
        code("loop", "def test_loop():\n    while True:\n        pass\n"),
        code("after_loop", "def test_ok():\n    pass\n"),
    ], isolation="bwrap", test_timeout_s=1.0)

    rec = _warm_run(lambda warm: record(job, warm=warm), warm_home)
    assert rec.results["loop"].outcome == "failed"
    assert "timed out after 1s" in (rec.results["loop"].failure or "")
    assert rec.results["after_loop"].outcome == "passed"
    assert rec.outcome.start == "warm"


def _one_passing_test_of(project: Path, python: Path, scratch: Path, home: Path) -> Recorded:
    """`project` with a passing `test_it.py` added, snapshotted and run with warm runners."""
    (project / "test_it.py").write_text("def test_ok():\n    pass\n")
    _, snap = snapshot_tree(project, scratch / "snaps")
    snap.chmod(0o755)
    job = make_job(python, scratch, [ref("r", "test_it.py::test_ok")],
                   isolation="bwrap", snapshot=snap)
    rec = _warm_run(lambda warm: record(job, warm=warm), home)
    assert rec.results["r"].outcome == "passed", rec.results["r"].failure
    return rec


def test_a_project_providing_a_module_the_runner_holds_runs_cold(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    project = scratch / "proj"
    (project / "pluggy").mkdir(parents=True)  # a name pytest itself imports
    (project / "pluggy" / "notes.txt").write_text("not code")
    rec = _one_passing_test_of(project, base_python, scratch, warm_home)
    assert rec.outcome.start == "cold" and rec.results["r"].start == "cold"
    assert "provides pluggy" in (rec.outcome.start_note or "")


def test_files_that_no_import_finds_do_not_send_a_job_cold(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    """humanize keeps `docs/time.md`: a name the runner has imported (`time`), but no
    module. Only packages and modules can shadow what the runner holds."""
    project = scratch / "proj"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "time.md").write_text("# Time\n")
    (project / "docs" / "json.txt").write_text("{}")
    (project / "logging.cfg").write_text("[loggers]\n")
    (project / "my-data").mkdir()  # no import reaches a name with a dash
    rec = _one_passing_test_of(project, base_python, scratch, warm_home)
    assert rec.outcome.start == "warm", rec.outcome.start_note


def test_turned_off_every_job_runs_cold_and_says_why(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    job = make_job(base_python, scratch, [code("ok", "def test_ok():\n    pass\n")],
                   isolation="bwrap")
    rec = _warm_run(lambda warm: record(job, warm=warm), warm_home, enabled=False)
    assert rec.results["ok"].outcome == "passed"
    assert rec.outcome.start == "cold"
    assert "turned off" in (rec.outcome.start_note or "")


def test_the_runner_restarts_when_its_environment_changes(
    base_python: Path, scratch: Path, warm_home: Path
) -> None:
    job = make_job(base_python, scratch, [code("ok", "def test_ok():\n    pass\n")],
                   isolation="bwrap")
    cfg = base_python.parent.parent / "pyvenv.cfg"

    async def scenario(warm: WarmRunners) -> tuple[int, int, bool]:
        await record(job, warm=warm)
        first = warm.server_pid(base_python)
        assert first is not None
        stat = cfg.stat()
        os.utime(cfg, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        rec = await record(_job(job, "after-rebuild"), warm=warm)
        assert rec.outcome.start == "warm"
        second = warm.server_pid(base_python)
        assert second is not None
        return first, second, Path(f"/proc/{first}").exists()  # noqa: ASYNC240

    first, second, old_alive = _warm_run(scenario, warm_home)
    assert first != second and not old_alive


def test_two_copies_of_an_environment_run_warm_side_by_side(
    env_pool: EnvironmentPool, scratch: Path, warm_home: Path
) -> None:
    """Two copies of one environment (both named `venv`) each get their own runner and
    directory: both jobs are inside their test at once, and neither loses its workspace."""
    gate = Gate(warm_home)

    async def scenario(warm: WarmRunners) -> list[Recorded]:
        async with env_pool.lease(EnvSpec([])) as a, env_pool.lease(EnvSpec([])) as b:
            assert a.python != b.python
            jobs = [make_job(env.python, scratch, [code(f"gated_{n}", gate.code())],
                             isolation="bwrap") for n, env in enumerate((a, b))]
            tasks = [asyncio.create_task(record(_job(job, f"side-{n}"), warm=warm))
                     for n, job in enumerate(jobs)]
            await asyncio.to_thread(gate.wait_started, 2)
            gate.release()
            return list(await asyncio.gather(*tasks))

    recs = _warm_run(scenario, warm_home)
    for n, rec in enumerate(recs):
        result = rec.results[f"gated_{n}"]
        assert result.outcome == "passed", result.failure
        assert rec.outcome.start == "warm", rec.outcome.start_note
