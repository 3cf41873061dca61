"""The pytest plugin (assay.runner._assay_stream) and the tracker reading what it writes.

One real pytest process per test, started with the command line the runner builds
(`run_argv`), on a workspace laid out by the runner's own `prepare`. Only the sandbox
is left out: the plugin's report descriptor is a plain pipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from assay.runner import Job, JobItem
from assay.runner.pytest_cmd import run_argv
from assay.runner.tracker import Tracker
from assay.runner.workspace import Workspace, create_workspace, prepare
from assay.sandbox import REPORT_FD, Limits

PROJECT_TESTS = '''\
import pytest


@pytest.fixture
def broken():
    raise RuntimeError("setup broke")


def test_pass():
    print("to stdout")


def test_fail():
    assert 1 + 1 == 3, "arithmetic"


@pytest.mark.skip(reason="not today")
def test_skip():
    pass


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False


def test_setup_error(broken):
    pass


@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n == 1


def test_unselected():
    pass
'''


def workspace(tmp_path: Path, items: list[JobItem]) -> Workspace:
    snapshot = tmp_path / "snapshot"
    (snapshot / "tests").mkdir(parents=True)
    (snapshot / "tests" / "test_mix.py").write_text(PROJECT_TESTS)
    (snapshot / "tests" / "test_broken.py").write_text("def test_x(:\n    pass\n")
    job = Job(job_id="j1", items=items, python=Path(sys.executable), snapshot_dir=snapshot,
              workspaces_dir=tmp_path / "ws", limits=Limits())
    return prepare(job, create_workspace(job.workspaces_dir, job.job_id))


def run_plugin(ws: Workspace, nodeids: list[str], paths: list[str],
               timeout_s: float = 0.0, output_limit: int = 64 * 1024) -> list[dict[str, Any]]:
    """Run pytest with the plugin as the runner does; the plugin's lines, parsed."""
    ws.select_file.write_text(json.dumps({"files": list(ws.code_files), "nodeids": nodeids}))
    read_end, write_end = os.pipe()
    argv = run_argv(Path(sys.executable), rootdir=ws.project, select_file=ws.select_file,
                    test_timeout_s=timeout_s, output_limit=output_limit,
                    args=([ws.code_dir] if ws.code_dir else []) + paths)
    argv = [f"--assay-report-fd={write_end}" if a == f"--assay-report-fd={REPORT_FD}" else a
            for a in argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(PYTHONPATH=ws.pythonpath(), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    with open(ws.root / "pytest.out", "wb") as out:
        proc = subprocess.Popen(argv, cwd=ws.project, env=env, pass_fds=(write_end,),
                                stdout=out, stderr=subprocess.STDOUT)
    os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as stream:
        lines = stream.read().splitlines()  # EOF: pytest has exited
    proc.wait()
    return [json.loads(x) for x in lines]


def feed(tracker: Tracker, lines: list[dict[str, Any]]) -> dict[str, Any]:
    for msg in lines:
        tracker.feed(json.dumps(msg))
    return {e.key: e for e in tracker.take_events() if e.type == "item_finished"}


def test_the_plugin_reports_every_selected_node_and_the_tracker_closes_each_item(
    tmp_path: Path,
) -> None:
    items = [
        JobItem(key="own", kind="code",
                code="def test_own():\n    print('mine')\n\ndef test_own_fail():\n    assert 0\n"),
        JobItem(key="pass", kind="reference", nodeid="tests/test_mix.py::test_pass"),
        JobItem(key="fail", kind="reference", nodeid="tests/test_mix.py::test_fail"),
        JobItem(key="skip", kind="reference", nodeid="tests/test_mix.py::test_skip"),
        JobItem(key="xfail", kind="reference", nodeid="tests/test_mix.py::test_xfail"),
        JobItem(key="setup", kind="reference", nodeid="tests/test_mix.py::test_setup_error"),
        JobItem(key="param", kind="reference", nodeid="tests/test_mix.py::test_param"),
        JobItem(key="broken", kind="reference", nodeid="tests/test_broken.py::test_x"),
        JobItem(key="missing", kind="reference", nodeid="tests/test_mix.py::test_nope"),
    ]
    ws = workspace(tmp_path, items)
    (code_file,) = ws.code_files
    nodeids = [i.nodeid for i in items if i.nodeid]
    lines = run_plugin(ws, nodeids, ["tests/test_mix.py", "tests/test_broken.py"])

    events = [m["event"] for m in lines]
    assert events[-1] == "finished"
    collected = next(m for m in lines if m["event"] == "collected")["nodeids"]
    # Selection happens in the plugin: the unselected test is never run.
    assert "tests/test_mix.py::test_unselected" not in collected
    assert set(collected) == {
        f"{code_file}::test_own", f"{code_file}::test_own_fail",
        "tests/test_mix.py::test_pass", "tests/test_mix.py::test_fail",
        "tests/test_mix.py::test_skip", "tests/test_mix.py::test_xfail",
        "tests/test_mix.py::test_setup_error", "tests/test_mix.py::test_param[1]",
        "tests/test_mix.py::test_param[2]",
    }
    errors = [m for m in lines if m["event"] == "collect_error"]
    assert [m["nodeid"] for m in errors] == ["tests/test_broken.py"]
    assert "SyntaxError" in errors[0]["failure"]
    results = {m["nodeid"]: m for m in lines if m["event"] == "result"}
    assert set(results) == set(collected)  # one result per collected node
    starts = {m["nodeid"]: i for i, m in enumerate(lines) if m["event"] == "start"}
    for nodeid in collected:  # each node starts before its result
        assert starts[nodeid] < lines.index(results[nodeid])
    assert results["tests/test_mix.py::test_skip"]["reason"] == "not today"
    assert results["tests/test_mix.py::test_xfail"]["outcome"] == "skipped"
    assert results["tests/test_mix.py::test_xfail"]["reason"] == "xfail: known bug"
    assert results["tests/test_mix.py::test_setup_error"]["outcome"] == "error"
    assert "to stdout" in results["tests/test_mix.py::test_pass"]["output"]

    done = feed(Tracker(items, ws.code_files, 64 * 1024), lines)
    assert {k: d.outcome for k, d in done.items()} == {
        "own": "failed", "pass": "passed", "fail": "failed", "skip": "skipped",
        "xfail": "skipped", "setup": "error", "param": "failed", "broken": "error",
        "missing": "error",
    }
    assert "arithmetic" in (done["fail"].failure or "")
    assert "setup broke" in (done["setup"].failure or "")
    assert "SyntaxError" in (done["broken"].failure or "")
    assert done["missing"].failure == "tests/test_mix.py::test_nope was not found in the project"
    assert [t["nodeid"] for t in done["param"].tests] == [
        "tests/test_mix.py::test_param[1]", "tests/test_mix.py::test_param[2]"
    ]
    assert "mine" in done["own"].output


def test_a_test_past_its_timeout_fails_and_the_next_one_runs(tmp_path: Path) -> None:
    items = [
        JobItem(key="spin", kind="code", code="def test_spin():\n    while True:\n        pass\n"),
        JobItem(key="after", kind="code", code="def test_after():\n    pass\n"),
    ]
    ws = workspace(tmp_path, items)
    lines = run_plugin(ws, [], [], timeout_s=0.2)
    done = feed(Tracker(items, ws.code_files, 64 * 1024), lines)
    assert done["spin"].outcome == "failed"
    assert "timed out after 0.2s" in (done["spin"].failure or "")
    assert done["after"].outcome == "passed"


def test_output_is_clipped_to_the_limit_given(tmp_path: Path) -> None:
    items = [JobItem(key="loud", kind="code",
                     code="def test_loud():\n    print('A' * 5000 + 'END')\n")]
    ws = workspace(tmp_path, items)
    lines = run_plugin(ws, [], [], output_limit=1000)
    (result,) = [m for m in lines if m["event"] == "result"]
    assert len(result["output"]) < 1100
    assert "characters cut" in result["output"] and result["output"].rstrip().endswith("END")
