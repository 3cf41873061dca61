"""The tracker (assay.runner.tracker): plugin lines in, one start and one finish per item out.

Lines are written exactly as the plugin writes them (see test_stream_plugin.py for the
plugin itself producing them).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from assay.runner import ItemFinished, ItemStarted, JobItem
from assay.runner import tracker as tracker_module
from assay.runner.tracker import FAILURE_LIMIT, Tracker

CODE = "def test_x():\n    pass\n"


def line(event: str, **fields: Any) -> str:
    return json.dumps({"event": event, **fields})


def result(nodeid: str, outcome: str = "passed", **fields: Any) -> str:
    payload: dict[str, Any] = {"nodeid": nodeid, "outcome": outcome, "duration_s": 0.25,
                               "failure": None, "output": "", "reason": None}
    payload.update(fields)
    return line("result", **payload)


def ran(t: Tracker, nodeid: str, outcome: str = "passed", **fields: Any) -> None:
    t.feed(line("start", nodeid=nodeid, t=0))
    t.feed(result(nodeid, outcome, **fields))


def finished(events: list[ItemStarted | ItemFinished]) -> dict[str, ItemFinished]:
    out: dict[str, ItemFinished] = {}
    for ev in events:
        if isinstance(ev, ItemFinished):
            assert ev.key not in out, f"{ev.key} finished twice"
            out[ev.key] = ev
    return out


def assert_once_each(events: list[ItemStarted | ItemFinished], keys: set[str]) -> None:
    starts = [e.key for e in events if isinstance(e, ItemStarted)]
    ends = [e.key for e in events if isinstance(e, ItemFinished)]
    assert sorted(starts) == sorted(keys)
    assert sorted(ends) == sorted(keys)
    for key in keys:  # a start always comes before its finish
        first_end = next(i for i, e in enumerate(events)
                         if isinstance(e, ItemFinished) and e.key == key)
        first_start = next(i for i, e in enumerate(events)
                           if isinstance(e, ItemStarted) and e.key == key)
        assert first_start < first_end


def ref(key: str, nodeid: str) -> JobItem:
    return JobItem(key=key, kind="reference", nodeid=nodeid)


def code(key: str) -> JobItem:
    return JobItem(key=key, kind="code", code=CODE)


# -- aggregation -------------------------------------------------------------------------


def test_an_item_finishes_when_its_last_collected_node_reports() -> None:
    t = Tracker([code("c")], {"_assay_tests/test_c.py": "c"}, 1000)
    nodes = ["_assay_tests/test_c.py::test_a", "_assay_tests/test_c.py::test_b"]
    t.feed(line("collected", nodeids=nodes))
    ran(t, nodes[0])
    events = t.take_events()
    assert events == [ItemStarted(key="c", nodeid=nodes[0])]
    assert [i.key for i in t.open_items()] == ["c"]
    ran(t, nodes[1])
    (done,) = t.take_events()
    assert isinstance(done, ItemFinished)
    assert (done.key, done.outcome, done.duration_s) == ("c", "passed", 0.5)
    assert [test["nodeid"] for test in done.tests] == nodes
    assert t.open_items() == [] and t.reported == 1


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["passed", "skipped"], "passed"),
        (["skipped", "skipped"], "skipped"),
        (["passed", "failed"], "failed"),
        (["failed", "error"], "error"),
        (["error", "passed"], "error"),
    ],
)
def test_the_worst_node_outcome_is_the_items(outcomes: list[str], expected: str) -> None:
    t = Tracker([ref("r", "tests/test_m.py")], {}, 1000)
    nodes = [f"tests/test_m.py::test_{n}" for n in range(len(outcomes))]
    t.feed(line("collected", nodeids=nodes))
    for nodeid, outcome in zip(nodes, outcomes, strict=True):
        failure = "boom" if outcome in ("failed", "error") else None
        ran(t, nodeid, outcome, failure=failure)
    assert finished(t.take_events())["r"].outcome == expected


def test_failures_of_several_nodes_are_named_and_outputs_joined() -> None:
    t = Tracker([ref("r", "tests/test_m.py")], {}, 1000)
    a, b, c = (f"tests/test_m.py::test_{n}" for n in "abc")
    t.feed(line("collected", nodeids=[a, b, c]))
    ran(t, a, "failed", failure="assert 1 == 2", output="out-a")
    ran(t, b, "passed", output="out-b")
    ran(t, c, "error", failure="fixture broke")
    done = finished(t.take_events())["r"]
    assert done.failure == f"{a}\nassert 1 == 2\n\n{c}\nfixture broke"
    assert done.output == "out-a\nout-b"


def test_a_single_failing_node_keeps_its_failure_as_is() -> None:
    t = Tracker([ref("r", "tests/test_m.py::test_a")], {}, 1000)
    t.feed(line("collected", nodeids=["tests/test_m.py::test_a"]))
    ran(t, "tests/test_m.py::test_a", "failed", failure="assert 1 == 2")
    assert finished(t.take_events())["r"].failure == "assert 1 == 2"


def test_skip_reasons_are_kept_per_node() -> None:
    t = Tracker([ref("r", "tests/test_m.py::test_s")], {}, 1000)
    t.feed(line("collected", nodeids=["tests/test_m.py::test_s"]))
    ran(t, "tests/test_m.py::test_s", "skipped", reason="not today")
    done = finished(t.take_events())["r"]
    assert done.outcome == "skipped" and done.failure is None
    assert done.tests[0]["reason"] == "not today"


def test_output_and_failures_are_clipped_in_the_middle() -> None:
    t = Tracker([ref("r", "tests/test_m.py::test_a")], {}, 100)
    t.feed(line("collected", nodeids=["tests/test_m.py::test_a"]))
    big = "x" * (FAILURE_LIMIT + 500)
    ran(t, "tests/test_m.py::test_a", "failed", failure="BEGIN" + big + "END",
        output="head" + "y" * 1000 + "tail")
    done = finished(t.take_events())["r"]
    assert done.output.startswith("head") and done.output.endswith("tail")
    assert "characters cut" in done.output and len(done.output) < 200
    assert done.failure is not None
    assert done.failure.startswith("BEGIN") and done.failure.endswith("END")
    assert len(done.failure) < FAILURE_LIMIT + 100


# -- node ids to items -------------------------------------------------------------------


def test_reference_node_ids_select_their_children_and_parametrizations_only() -> None:
    items = [
        ref("fn", "tests/test_m.py::test_p"),
        ref("cls", "tests/test_m.py::TestC"),
        ref("dir", "tests/sub/"),
    ]
    t = Tracker(items, {}, 1000)
    nodes = {
        "tests/test_m.py::test_p[1]": "fn",
        "tests/test_m.py::test_p[2]": "fn",
        "tests/test_m.py::TestC::test_x": "cls",
        "tests/sub/test_deep.py::test_d": "dir",
    }
    # A sibling whose name merely starts the same belongs to no item.
    t.feed(line("collected", nodeids=[*nodes, "tests/test_m.py::test_pp"]))
    for nodeid in nodes:
        ran(t, nodeid)
    ran(t, "tests/test_m.py::test_pp")
    events = t.take_events()
    assert_once_each(events, {"fn", "cls", "dir"})
    done = finished(events)
    assert [x["nodeid"] for x in done["fn"].tests] == [
        "tests/test_m.py::test_p[1]", "tests/test_m.py::test_p[2]"
    ]
    assert all(x["nodeid"] != "tests/test_m.py::test_pp" for d in done.values() for x in d.tests)


def test_one_node_selected_by_two_items_reports_to_both() -> None:
    t = Tracker([ref("file", "tests/test_m.py"), ref("fn", "tests/test_m.py::test_a")], {}, 1000)
    t.feed(line("collected", nodeids=["tests/test_m.py::test_a"]))
    ran(t, "tests/test_m.py::test_a", "failed", failure="no")
    done = finished(t.take_events())
    assert done["file"].outcome == done["fn"].outcome == "failed"


# -- what pytest never ran ---------------------------------------------------------------


def test_items_not_collected_are_closed_with_the_reason() -> None:
    items = [code("empty"), ref("gone", "tests/test_m.py::test_missing"),
             ref("broken", "tests/test_broken.py::test_a"), ref("ok", "tests/test_m.py::test_a")]
    t = Tracker(items, {"_assay_tests/test_empty.py": "empty"}, 1000)
    t.feed(line("collect_error", nodeid="tests/test_broken.py", failure="SyntaxError: bad"))
    t.feed(line("collected", nodeids=["tests/test_m.py::test_a"]))
    events = t.take_events()
    done = finished(events)
    assert set(done) == {"empty", "gone", "broken"}
    assert all(d.outcome == "error" for d in done.values())
    assert done["empty"].failure == "no tests were collected from this code"
    assert done["gone"].failure == "tests/test_m.py::test_missing was not found in the project"
    assert done["broken"].failure == "SyntaxError: bad"
    assert {e.key: e.nodeid for e in events if isinstance(e, ItemStarted)} == {
        "empty": None, "gone": None, "broken": None,
    }
    assert [i.key for i in t.open_items()] == ["ok"]


def test_a_collect_error_of_a_directory_reaches_every_item_below_it() -> None:
    t = Tracker([ref("a", "tests/pkg/test_a.py"), ref("b", "tests/pkg/deeper/test_b.py"),
                 ref("c", "tests/other/test_c.py")], {}, 1000)
    t.feed(line("collect_error", nodeid="tests/pkg", failure="conftest broke"))
    t.feed(line("collected", nodeids=["tests/other/test_c.py::test_c"]))
    done = finished(t.take_events())
    assert {k: d.failure for k, d in done.items()} == {"a": "conftest broke",
                                                        "b": "conftest broke"}


def test_a_repeated_result_line_finishes_nothing_twice() -> None:
    t = Tracker([ref("r", "tests/test_m.py::test_a")], {}, 1000)
    t.feed(line("collected", nodeids=["tests/test_m.py::test_a"]))
    ran(t, "tests/test_m.py::test_a")
    ran(t, "tests/test_m.py::test_a", "failed", failure="late duplicate")
    t.close_all("should change nothing")
    events = t.take_events()
    assert_once_each(events, {"r"})
    assert finished(events)["r"].outcome == "passed"
    assert t.reported == 1


def test_lines_it_cannot_read_are_ignored() -> None:
    t = Tracker([ref("r", "tests/test_m.py::test_a")], {}, 1000)
    for junk in ["", "not json", '{"event": "mystery"}', "{}", "[1, 2]"]:
        t.feed(junk)
    t.feed(line("finished", exitstatus=0))
    assert t.take_events() == [] and [i.key for i in t.open_items()] == ["r"]


# -- pytest dying ------------------------------------------------------------------------


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


def test_a_crash_closes_the_running_and_started_items_and_leaves_the_rest_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeMonotonic()
    monkeypatch.setattr(tracker_module, "time", clock)
    items = [ref("done", "tests/t.py::test_1"), ref("half", "tests/t.py::TestH"),
             ref("crash", "tests/t.py::test_3"), ref("later", "tests/t.py::test_4")]
    t = Tracker(items, {}, 1000)
    t.feed(line("collected", nodeids=["tests/t.py::test_1", "tests/t.py::TestH::test_a",
                                      "tests/t.py::TestH::test_b", "tests/t.py::test_3",
                                      "tests/t.py::test_4"]))
    ran(t, "tests/t.py::test_1")
    ran(t, "tests/t.py::TestH::test_a")
    t.feed(line("start", nodeid="tests/t.py::test_3", t=0))
    clock.now += 7.5  # the test ran for 7.5 s, then the process died
    t.interrupt("pytest exited with code -9")
    done = finished(t.take_events())
    assert done["done"].outcome == "passed"
    assert done["crash"].outcome == "error"
    assert done["crash"].failure == "pytest exited with code -9"
    assert done["crash"].duration_s == 7.5
    assert done["half"].outcome == "error"  # started, then lost its other node
    assert done["half"].failure == "pytest exited with code -9"
    assert "later" not in done
    assert t.unstarted_items() == [items[3]] and t.current is None
    # A fresh pytest process runs what is left.
    t.feed(line("collected", nodeids=["tests/t.py::test_4"]))
    ran(t, "tests/t.py::test_4")
    assert finished(t.take_events())["later"].outcome == "passed"
    assert t.open_items() == []


def test_a_hung_test_is_failed_with_its_own_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracker_module, "time", FakeMonotonic())
    t = Tracker([ref("hang", "tests/t.py::test_h"), ref("next", "tests/t.py::test_n")], {}, 1000)
    t.feed(line("collected", nodeids=["tests/t.py::test_h", "tests/t.py::test_n"]))
    t.feed(line("start", nodeid="tests/t.py::test_h", t=0))
    t.interrupt("pytest was stopped", running_reason="timed out after 5s")
    done = finished(t.take_events())
    assert (done["hang"].outcome, done["hang"].failure) == ("failed", "timed out after 5s")
    assert [i.key for i in t.open_items()] == ["next"]


def test_close_all_ends_every_open_item_exactly_once() -> None:
    t = Tracker([ref("a", "tests/t.py::test_a"), ref("b", "tests/t.py::test_b")], {}, 1000)
    t.note_all("note: addopts were dropped")
    t.close_all("not run: the job was cancelled")
    t.close_all("again")
    events = t.take_events()
    assert_once_each(events, {"a", "b"})
    for done in finished(events).values():
        assert (done.outcome, done.failure) == ("error", "not run: the job was cancelled")
        assert done.output == "note: addopts were dropped"
    assert t.open_items() == []
