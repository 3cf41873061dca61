"""run_job end to end: real pytest processes in the real sandbox, no mocks."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.runner import ItemFinished, ItemStarted, JobItem
from assay.snapshots import snapshot_hash, snapshot_tree
from tests.gates import Gate
from tests.worker.conftest import ISOLATIONS, Recorded, code, make_job, record, ref, run


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_batch_of_code_items_gets_one_outcome_each(
    base_python: Path, scratch: Path, isolation: str
) -> None:
    job = make_job(base_python, scratch, [
        code("pass", "def test_one():\n    print('hello out')\n\ndef test_two():\n    pass\n"),
        code("fail", "def test_bad():\n    assert 1 + 1 == 3, 'arithmetic is broken'\n"),
        code("syntax", "def test_broken(:\n    pass\n"),
        code("skip", "import pytest\n\n@pytest.mark.skip(reason='not today')\ndef test_s():\n"
                     "    pass\n"),
        code("mixed", "def test_a():\n    pass\n\ndef test_b():\n    raise ValueError('boom')\n"),
        code("empty", "X = 1\n"),
        code("fixture_error", "import pytest\n\n@pytest.fixture\ndef f():\n    raise RuntimeError"
                              "('setup broke')\n\ndef test_f(f):\n    pass\n"),
    ], isolation=isolation)
    rec = run(job)
    res = rec.results
    assert res["pass"].outcome == "passed"
    assert len(res["pass"].tests) == 2 and "hello out" in res["pass"].output
    assert res["fail"].outcome == "failed"
    assert "arithmetic is broken" in (res["fail"].failure or "")
    assert res["syntax"].outcome == "error" and "SyntaxError" in (res["syntax"].failure or "")
    assert res["skip"].outcome == "skipped" and res["skip"].tests[0]["reason"] == "not today"
    assert res["mixed"].outcome == "failed" and "boom" in (res["mixed"].failure or "")
    assert [t["outcome"] for t in res["mixed"].tests] == ["passed", "failed"]
    assert res["empty"].outcome == "error"
    assert res["fixture_error"].outcome == "error"
    assert "setup broke" in (res["fixture_error"].failure or "")
    assert rec.outcome.isolation == isolation and rec.outcome.invocations == 1
    assert rec.outcome.items_reported == 7
    assert not list((scratch / "ws").iterdir()), "workspace must be removed"


def _project(root: Path) -> Path:
    """A small project: a package, a conftest fixture, and a test module."""
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    (root / "tests").mkdir()
    (root / "tests" / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef three():\n    return 3\n")
    (root / "tests" / "test_mod.py").write_text(textwrap.dedent("""
        import pytest
        from pkg import double

        def test_a():
            assert double(2) == 4

        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_p(n):
            assert n != 2

        class TestC:
            def test_x(self, three):
                assert three == 3

            def test_y(self):
                assert double(0) == 0
    """))
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    return root


def test_reference_items_run_in_a_copy_of_the_snapshot(
    base_python: Path, scratch: Path
) -> None:
    digest, snap = snapshot_tree(_project(scratch / "src"), scratch / "snaps")
    snap.chmod(0o755)
    job = make_job(base_python, scratch, [
        ref("a", "tests/test_mod.py::test_a"),
        ref("p", "tests/test_mod.py::test_p"),
        ref("p2", "tests/test_mod.py::test_p[2]"),
        ref("c", "tests/test_mod.py::TestC"),
        ref("missing", "tests/test_mod.py::test_nope"),
        ref("nofile", "tests/test_gone.py::test_x"),
        code("uses_project", "from pkg import double\n\ndef test_d(three):\n"
                             "    assert double(three) == 6\n"),
        code("writes", "from pathlib import Path\n\ndef test_w():\n"
                       "    Path('pkg/__init__.py').write_text('broken')\n"),
    ], snapshot=snap)
    res = run(job).results
    assert res["a"].outcome == "passed"
    assert res["p"].outcome == "failed" and len(res["p"].tests) == 3
    assert res["p2"].outcome == "failed" and len(res["p2"].tests) == 1
    assert res["c"].outcome == "passed" and len(res["c"].tests) == 2
    assert res["missing"].outcome == "error" and "not found" in (res["missing"].failure or "")
    assert res["nofile"].outcome == "error"
    # code items see the project's package and its conftest (the fixture is in tests/).
    assert res["uses_project"].outcome in ("passed", "error")
    assert res["writes"].outcome == "passed"  # its own copy is writable...
    assert snapshot_hash(snap) == digest  # ...the stored snapshot is untouched


def test_results_stream_before_the_process_ends(base_python: Path, scratch: Path) -> None:
    """`slow` holds the pytest process open until this test has received `fast`'s result
    and `slow`'s start: it can only pass if events stream while the process runs."""
    gate = Gate(scratch / "ws")
    job = make_job(base_python, scratch, [
        code("fast", "def test_fast():\n    pass\n"),
        code("slow", gate.code("test_slow")),
    ])

    async def scenario() -> Recorded:
        streamed = asyncio.Event()
        seen: set[tuple[str, str]] = set()

        def on_event(event: ItemStarted | ItemFinished) -> None:
            seen.add((event.key, event.type))
            if {("fast", "item_finished"), ("slow", "item_started")} <= seen:
                streamed.set()

        task = asyncio.create_task(record(job, on_event=on_event))
        await asyncio.wait_for(streamed.wait(), 120)
        # The events are in while `slow` still holds the process; now let it finish.
        await asyncio.to_thread(gate.wait_started)
        gate.release()
        return await asyncio.wait_for(task, 120)

    rec = asyncio.run(scenario())
    assert rec.results["fast"].outcome == "passed"
    assert rec.results["slow"].outcome == "passed", rec.results["slow"].failure
    assert rec.started["slow"].nodeid and rec.started["slow"].nodeid.endswith("::test_slow")


def test_per_test_timeout_fails_that_test_and_the_batch_goes_on(
    base_python: Path, scratch: Path
) -> None:
    stubborn = textwrap.dedent("""
        def test_ignores_alarm():
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
    """)
    job = make_job(base_python, scratch, [
        code("loop", "def test_loop():\n    while True:\n        pass\n"),
        code("after_loop", "def test_ok():\n    pass\n"),
        code("stubborn", stubborn),
        code("after_stubborn", "def test_ok():\n    pass\n"),
    ], test_timeout_s=1.0)
    rec = run(job)
    res = rec.results
    assert res["loop"].outcome == "failed"
    assert "timed out after 1s" in (res["loop"].failure or "")
    assert res["after_loop"].outcome == "passed"
    assert res["stubborn"].outcome == "failed"
    assert "timed out after 1s" in (res["stubborn"].failure or "")
    assert res["after_stubborn"].outcome == "passed"
    assert rec.outcome.invocations == 2  # pytest was restarted for the rest


def test_a_crashing_test_is_an_error_and_the_rest_still_runs(
    base_python: Path, scratch: Path
) -> None:
    job = make_job(base_python, scratch, [
        code("before", "def test_ok():\n    pass\n"),
        code("crash", "import os\n\ndef test_exit():\n    os._exit(3)\n"),
        code("after", "def test_ok():\n    pass\n"),
    ])
    res = run(job).results
    assert res["before"].outcome == "passed"
    assert res["crash"].outcome == "error" and "exited with code 3" in (res["crash"].failure or "")
    assert res["after"].outcome == "passed"


def test_job_wall_limit_reports_every_item(base_python: Path, scratch: Path) -> None:
    job = make_job(base_python, scratch, [
        code("sleepy", "import time\n\ndef test_s():\n    time.sleep(60)\n"),
        code("never", "def test_ok():\n    pass\n"),
    ], wall_seconds=2.0)
    rec = run(job)
    assert rec.outcome.timed_out
    assert rec.results["sleepy"].outcome == "error"
    assert rec.results["never"].outcome == "error"
    assert "time limit" in (rec.results["never"].failure or "")


def test_an_item_must_carry_what_its_kind_needs() -> None:
    with pytest.raises(ValueError, match="has no code"):
        JobItem(key="k", kind="code")
    with pytest.raises(ValueError, match="has no node id"):
        JobItem(key="k", kind="reference")


def _processes_with(token: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if token.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_cancel_kills_the_whole_tree_including_setsid_children(
    base_python: Path, scratch: Path, isolation: str
) -> None:
    token = f"assay-orphan-{scratch.name}"
    source = textwrap.dedent(f"""
        import subprocess, sys, time

        def test_spawns():
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{token}"],
                             start_new_session=True)
            time.sleep(300)
    """)
    job = make_job(base_python, scratch, [code("sleeper", source), code("later", "def test_x():"
                                                                           "\n    pass\n")],
                   isolation=isolation)

    async def scenario() -> None:
        cancel = asyncio.Event()
        task = asyncio.create_task(record(job, cancel))
        await until(lambda: bool(_processes_with(token)), "the setsid child to start")
        cancel.set()
        rec = await asyncio.wait_for(task, 60)
        assert rec.outcome.cancelled
        assert rec.results["sleeper"].outcome == "error"
        assert rec.results["later"].outcome == "error"
        await until(lambda: not _processes_with(token), "the setsid child to be killed")

    asyncio.run(scenario())


async def until(condition: Callable[[], bool], what: str, within_s: float = 60) -> None:
    """Poll `condition` (real state: /proc) until it holds; fail after `within_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        assert loop.time() < deadline, f"timed out after {within_s} s waiting for {what}"
        await asyncio.sleep(0.05)


def test_code_items_run_under_a_project_with_its_own_python_files(
    base_python: Path, scratch: Path
) -> None:
    project = scratch / "proj"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\npython_files = check_*.py\n")
    job = make_job(base_python, scratch, [code("a", "def test_a():\n    pass\n"),
                                          code("b", "def test_b():\n    assert False\n")],
                   snapshot=project)
    res = run(job).results
    assert (res["a"].outcome, res["b"].outcome) == ("passed", "failed")
