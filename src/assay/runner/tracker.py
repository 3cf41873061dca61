"""Turning the plugin's per-node lines into per-item events, exactly once each.

Items are what the user asked for (a code module, a node id); nodes are what
pytest runs (each function, each parametrization). The tracker owns that
mapping, knows which items are still open, and closes items pytest never got to
with an explicit reason so no test run is left hanging.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from assay.contracts import stream
from assay.contracts.jobs import NodeResult, Outcome
from assay.contracts.stream import LINE
from assay.runner.models import ItemFinished, ItemStarted, JobItem

Event = ItemStarted | ItemFinished
FAILURE_LIMIT = 32 * 1024


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"


def _selectors(nodeid: str) -> list[str]:
    """Every reference that would select `nodeid`: the node id itself, and each prefix
    of it that ends at a `::`, a `[` or a `/` (a module, a class, a directory, the
    function of a parametrized case).

    A job may hold tens of thousands of references; looking each collected node up by
    these few prefixes keeps the tracker linear in the suite's size.
    """
    found = [nodeid]
    for i, ch in enumerate(nodeid):
        if ch in "[/" or nodeid.startswith("::", i):
            found.append(nodeid[:i])
    return found


def _within(errored: str, path: str) -> bool:
    """Is `path` at or below the collector `errored` that failed?"""
    errored = errored.split("::", 1)[0].rstrip("/")
    return errored in ("", ".") or path == errored or path.startswith(errored + "/")


@dataclass
class _State:
    item: JobItem
    path: str
    started: bool = False
    finished: bool = False
    expected: set[str] | None = None  # nodes still to report; None until collected
    tests: list[NodeResult] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    collect_failure: str | None = None


class Tracker:
    def __init__(self, items: list[JobItem], code_files: dict[str, str], output_limit: int):
        self.output_limit = output_limit
        self.states: dict[str, _State] = {}
        path_of = {key: path for path, key in code_files.items()}
        for item in items:
            if item.kind == "code":
                path = path_of.get(item.key, "")
            else:
                path = (item.nodeid or "").split("::")[0]
            self.states[item.key] = _State(item=item, path=path)
        self.code_files = code_files
        self.events: list[Event] = []
        self.current: tuple[str, float] | None = None  # node running now, since (monotonic)
        self.reported = 0
        self.node_keys: dict[str, list[str]] = {}
        self.by_reference: dict[str, list[str]] = {}
        for state in self.states.values():
            if state.item.kind == "reference":
                ref = (state.item.nodeid or "").rstrip("/")
                self.by_reference.setdefault(ref, []).append(state.item.key)

    # -- queries -------------------------------------------------------------

    def open_items(self) -> list[JobItem]:
        return [s.item for s in self.states.values() if not s.finished]

    def unstarted_items(self) -> list[JobItem]:
        return [s.item for s in self.states.values() if not s.finished and not s.started]

    def note_all(self, text: str) -> None:
        """Add `text` to the output of every item not finished yet (run notes)."""
        for state in self.states.values():
            if not state.finished:
                state.outputs.append(text)

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    # -- plugin lines --------------------------------------------------------

    def feed(self, line: str) -> None:
        try:
            msg = LINE.validate_json(line)
        except ValidationError:
            return  # not a protocol line (see assay.contracts.stream)
        before = len(self.events)
        if isinstance(msg, stream.CollectError):
            self._on_collect_error(msg)
        elif isinstance(msg, stream.Collected):
            self._on_collected(msg)
        elif isinstance(msg, stream.Start):
            self._on_start(msg)
        elif isinstance(msg, stream.Result):
            self._on_result(msg)
        self.reported += sum(isinstance(e, ItemFinished) for e in self.events[before:])

    def _keys_for(self, nodeid: str) -> list[str]:
        keys = self.node_keys.get(nodeid)
        if keys is not None:
            return keys
        path = nodeid.split("::", 1)[0]
        if path in self.code_files:
            keys = [self.code_files[path]]
        else:
            keys = list(dict.fromkeys(
                key for ref in _selectors(nodeid) for key in self.by_reference.get(ref, ())))
        self.node_keys[nodeid] = keys
        return keys

    def _on_collect_error(self, msg: stream.CollectError) -> None:
        for state in self.states.values():
            if not state.finished and _within(msg.nodeid, state.path):
                state.collect_failure = msg.failure or "collection failed"

    def _on_collected(self, msg: stream.Collected) -> None:
        for state in self.states.values():
            if not state.finished:
                state.expected = set()
        for nodeid in msg.nodeids:
            for key in self._keys_for(nodeid):
                expected = self.states[key].expected
                if expected is not None and not self.states[key].finished:
                    expected.add(nodeid)
        for state in self.states.values():
            if state.finished or state.expected:
                continue
            if state.collect_failure:
                reason = state.collect_failure
            elif state.item.kind == "code":
                reason = "no tests were collected from this code"
            else:
                reason = f"{state.item.nodeid} was not found in the project"
            self._close(state, "error", reason)

    def _on_start(self, msg: stream.Start) -> None:
        nodeid = msg.nodeid
        self.current = (nodeid, time.monotonic())
        for key in self._keys_for(nodeid):
            state = self.states[key]
            if not state.started and not state.finished:
                state.started = True
                self.events.append(ItemStarted(key=key, nodeid=nodeid))

    def _on_result(self, msg: stream.Result) -> None:
        nodeid = msg.nodeid
        if self.current and self.current[0] == nodeid:
            self.current = None
        test: NodeResult = {
            "nodeid": nodeid,
            "outcome": msg.outcome,
            "duration_s": float(msg.duration_s or 0.0),
            "failure": msg.failure,
        }
        if msg.reason:
            test["reason"] = msg.reason
        for key in self._keys_for(nodeid):
            state = self.states[key]
            if state.finished:
                continue
            state.tests.append(test)
            if msg.output:
                state.outputs.append(msg.output)
            if state.expected is not None:
                state.expected.discard(nodeid)
                if not state.expected:
                    self._close(state)

    # -- closing -------------------------------------------------------------

    def interrupt(self, reason: str, *, running_reason: str | None = None) -> None:
        """The process ended: close the item whose node was running, and started items.

        Unstarted items stay open so a new pytest process can run them.
        """
        if self.current is not None:
            nodeid, _ = self.current
            for key in self._keys_for(nodeid):
                state = self.states[key]
                if not state.finished:
                    state.tests.append({"nodeid": nodeid, "outcome": "failed", "duration_s":
                                        time.monotonic() - self.current[1],
                                        "failure": running_reason or reason})
                    self._close(state, "failed" if running_reason else "error",
                                running_reason or reason)
            self.current = None
        for state in self.states.values():
            if state.started and not state.finished:
                self._close(state, "error", reason)

    def close_item(self, key: str, reason: str) -> None:
        state = self.states[key]
        if not state.finished:
            self._close(state, "error", reason)

    def close_all(self, reason: str) -> None:
        for state in self.states.values():
            if not state.finished:
                self._close(state, "error", state.collect_failure or reason)

    def _close(self, state: _State, forced: Literal["error", "failed"] | None = None,
               reason: str | None = None) -> None:
        if not state.started:
            state.started = True
            first = state.tests[0]["nodeid"] if state.tests else None
            self.events.append(ItemStarted(key=state.item.key, nodeid=first))
        outcomes = {t["outcome"] for t in state.tests}
        outcome: Outcome
        if forced == "error" or "error" in outcomes:
            outcome = "error"
        elif forced == "failed" or "failed" in outcomes:
            outcome = "failed"
        elif "passed" in outcomes:
            outcome = "passed"
        else:
            outcome = "skipped"
        failures = [t for t in state.tests if t["outcome"] in ("failed", "error") and t["failure"]]
        if len(state.tests) == 1 and failures:
            failure: str | None = failures[0]["failure"]
        elif failures:
            failure = "\n\n".join(f"{t['nodeid']}\n{t['failure']}" for t in failures)
        else:
            failure = None
        if reason and reason not in (failure or ""):
            failure = f"{failure}\n\n{reason}" if failure else reason
        state.finished = True
        self.events.append(ItemFinished(
            key=state.item.key,
            outcome=outcome,
            duration_s=round(sum(t["duration_s"] for t in state.tests), 6),
            failure=_clip(failure, FAILURE_LIMIT) if failure else None,
            output=_clip("\n".join(state.outputs), self.output_limit),
            tests=list(state.tests),
        ))
