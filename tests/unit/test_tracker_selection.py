"""The tracker's lookup of which references select a collected node, against the rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assay.runner.tracker import _selectors

parts = st.sampled_from(["tests", "a", "test_x.py", "T", "test_y", "::", "[", "]", "/", "1"])
nodeids = st.lists(parts, min_size=1, max_size=8).map("".join)


def _covers(ref: str, nodeid: str) -> bool:
    """Does the reference node id `ref` select the collected node `nodeid`?"""
    ref = ref.rstrip("/")
    return nodeid == ref or nodeid.startswith((ref + "::", ref + "[", ref + "/"))


@given(ref=nodeids, nodeid=nodeids)
def test_a_reference_is_found_exactly_when_it_selects_the_node(ref: str, nodeid: str) -> None:
    assert (ref.rstrip("/") in _selectors(nodeid)) == _covers(ref, nodeid)


def test_the_usual_shapes() -> None:
    node = "tests/test_x.py::TestA::test_b[1-2]"
    for ref in ("tests", "tests/test_x.py", "tests/test_x.py::TestA",
                "tests/test_x.py::TestA::test_b", node):
        assert ref in _selectors(node)
    assert "tests/test_x.py::Test" not in _selectors(node)
