"""Assay's pytest plugin: stream one JSON line per test to a pipe, as it finishes.

Standalone on purpose (stdlib + pytest only): it is copied into the job's
workspace and loaded with `-p _assay_stream` inside the project's environment,
where Assay itself is not installed.

Lines written to `--assay-report-fd`:
  {"event": "collect_error", "nodeid", "failure"}   a file/dir failed to collect
  {"event": "collected", "nodeids": [...]}          what will run, after selection
  {"event": "start", "nodeid"}                       a test begins (setup)
  {"event": "result", "nodeid", "outcome", "duration_s", "failure", "output", "reason"}
  {"event": "finished", "exitstatus"}
`--assay-select FILE` holds a JSON object {"files": [...], "nodeids": [...]}:
tests in `files` run whole; other tests run only when they match a node id
(exactly, as a parametrization `id[...]`, as a child `id::...`, or below a
directory `id/...`). `--assay-test-timeout` fails a test that runs too long.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import signal
import time
from typing import Any

import pytest

FAILURE_LIMIT = 16 * 1024
SEPARATOR = re.compile(r"::|\[|/")
"""Where a selected node id may end inside a longer one (a child, a parametrization, a path)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("assay")
    group.addoption("--assay-report-fd", type=int, default=None)
    group.addoption("--assay-select", default=None)
    group.addoption("--assay-test-timeout", type=float, default=0.0)
    group.addoption("--assay-output-limit", type=int, default=64 * 1024)


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"


class Stream:
    def __init__(self, config: pytest.Config) -> None:
        self.fd = config.getoption("assay_report_fd")
        if self.fd is not None:
            os.set_inheritable(self.fd, False)  # test subprocesses must not hold the pipe
        self.timeout = config.getoption("assay_test_timeout") or 0.0
        self.output_limit = config.getoption("assay_output_limit")
        self.files: set[str] | None = None
        self.nodeids: list[str] = []
        path = config.getoption("assay_select")
        if path:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            self.files = set(data.get("files", []))
            self.nodeids = list(data.get("nodeids", []))
        self.refs = {ref.rstrip("/") for ref in self.nodeids}
        self.nodes: dict[str, dict[str, Any]] = {}

    def emit(self, **payload: Any) -> None:
        if self.fd is None:
            return
        data = (json.dumps(payload) + "\n").encode()
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:
            self.fd = None

    def wanted(self, nodeid: str) -> bool:
        """Whether `nodeid` is selected: its file is, or a node id equals it or is its
        prefix up to a `::`, `[` or `/`.

        Looked up by prefix in a set, so a job of 25,000 node ids in a module of
        100,000 tests costs one pass over the tests, not their product.
        """
        if self.files is None:
            return True
        if nodeid.split("::", 1)[0] in self.files or nodeid in self.refs:
            return True
        return any(nodeid[:m.start()] in self.refs for m in SEPARATOR.finditer(nodeid))

    # -- hooks -------------------------------------------------------------

    def pytest_collect_file(self, file_path: Any, parent: pytest.Collector) -> Any:
        """Collect selected files even when the project's `python_files` would not match.

        The runner passes the directory of code items, not each file: pytest is
        quadratic in the number of path arguments (1,000 files: minutes).
        """
        if self.files is None or file_path.suffix != ".py":
            return None
        rel = file_path.relative_to(parent.config.rootpath).as_posix()
        if rel not in self.files or parent.session.isinitpath(file_path):
            return None
        patterns = parent.config.getini("python_files")
        if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
            return None  # pytest's own hook collects it
        return pytest.Module.from_parent(parent, path=file_path)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.emit(event="collect_error", nodeid=report.nodeid,
                      failure=_clip(report.longreprtext, FAILURE_LIMIT))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if self.files is None:
            return
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            (keep if self.wanted(item.nodeid) else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.emit(event="collected", nodeids=[item.nodeid for item in session.items])

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.nodes[nodeid] = {"outcome": "passed", "duration_s": 0.0, "failure": None,
                              "output": [], "reason": None}
        self.emit(event="start", nodeid=nodeid, t=time.time())

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any) -> Any:
        armed = self.timeout > 0 and hasattr(signal, "setitimer")
        if armed:
            timeout = self.timeout

            def on_alarm(signum: int, frame: Any) -> None:
                pytest.fail(f"timed out after {timeout:g}s", pytrace=False)

            previous = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            yield
        finally:
            if armed:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        node = self.nodes.setdefault(report.nodeid, {"outcome": "passed", "duration_s": 0.0,
                                                     "failure": None, "output": [],
                                                     "reason": None})
        node["duration_s"] += getattr(report, "duration", 0.0) or 0.0
        if report.when == "teardown":  # sections accumulate: the last report has them all
            node["output"] = [f"--- {t} ---\n{c}" for t, c in report.sections if c]
        xfail = hasattr(report, "wasxfail")
        if report.failed:
            outcome = "failed" if report.when == "call" else "error"
            if node["outcome"] in ("passed", "skipped"):
                node["outcome"] = outcome
            node["failure"] = _clip(report.longreprtext, FAILURE_LIMIT)
        elif report.skipped:
            if node["outcome"] == "passed":
                node["outcome"] = "skipped"
            if xfail:
                node["reason"] = f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
            elif isinstance(report.longrepr, tuple):
                reason = str(report.longrepr[2])
                node["reason"] = reason.removeprefix("Skipped: ")
        if report.when == "teardown":
            self._finish(report.nodeid)

    def _finish(self, nodeid: str) -> None:
        node = self.nodes.pop(nodeid, None)
        if node is None:
            return
        output = _clip("\n".join(node["output"]), self.output_limit)
        self.emit(event="result", nodeid=nodeid, outcome=node["outcome"],
                  duration_s=round(node["duration_s"], 6), failure=node["failure"],
                  output=output, reason=node["reason"])

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.emit(event="finished", exitstatus=int(exitstatus))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Stream(config), "assay-stream")
