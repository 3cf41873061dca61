"""run_job: one batch of test cases, one pytest process (more only when one must die).

The plugin reports over a pipe; the tracker turns that into item events, which
are awaited in order on a queue so the caller's coroutine sees them live. If
pytest dies (a test hangs past its timeout, crashes the interpreter, exits), the
item that was running is closed with the reason and a fresh pytest runs the items
not yet started, so one bad test never costs the rest of the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from assay.environments.install import InstalledProject, ProjectBuildError, ensure_installed
from assay.runner.models import ItemFinished, ItemStarted, Job, JobOutcome
from assay.runner.pytest_cmd import USAGE_ERROR, environment_root, pytest_arguments, run_argv
from assay.runner.pytest_config import neutralized, neutralized_note
from assay.runner.tracker import Event, Tracker
from assay.runner.warm import START_FAILED, WarmRunners, unsafe_reason
from assay.runner.workspace import Workspace, copy_project, create_workspace, prepare
from assay.sandbox import (
    Limits,
    SandboxResult,
    SandboxUnavailable,
    resolve_isolation,
    run_sandboxed,
)
from assay.sandbox.forkserver import ForkServer, ForkServerError

WARM_FAILED = "the warm runner failed"
HARD_TIMEOUT_GRACE_S = 3.0
"""The plugin fails a slow test at test_timeout_s; past this grace we kill pytest."""

MAX_PATH_ARGS = 20

OnEvent = Callable[[ItemStarted | ItemFinished], Awaitable[None]]


async def run_job(
    job: Job, on_event: OnEvent, cancel: asyncio.Event | None = None,
    warm: WarmRunners | None = None,
) -> JobOutcome:
    """Run every item of `job`; each gets exactly one ItemStarted and one ItemFinished.

    With `warm`, pytest is forked from the environment's warm runner when that is
    safe (see `assay.runner.warm`); otherwise, or when it fails, it starts cold.
    """
    started = time.monotonic()
    try:
        mode = resolve_isolation(job.isolation)
    except SandboxUnavailable as exc:
        return await _refuse(job, on_event, str(exc), "unavailable")
    installed = None
    if job.install_dir is not None and job.snapshot_dir is not None:
        try:
            installed = await ensure_installed(
                job.install_dir, job.snapshot_dir, job.python, job.workspaces_dir,
                job.limits, mode, environment_root(job.python))
        except ProjectBuildError as exc:
            return await _refuse(job, on_event, str(exc), mode)
    if warm is None:
        return await _run_in(job, on_event, cancel, mode, installed, None,
                             "no warm runners here", started)
    async with warm.lease(job.python, mode) as leased:
        server = leased if isinstance(leased, ForkServer) else None
        note = leased if isinstance(leased, str) else None
        copies = warm.copies(job.python) if server is not None else None
        outcome = await _run_in(job, on_event, cancel, mode, installed, server, note, started,
                                copies.copy if copies is not None else copy_project)
        if server is not None and outcome.warm_failed:
            await warm.discard(job.python)  # a fresh one for the next job
        return outcome


async def _run_in(
    job: Job, on_event: OnEvent, cancel: asyncio.Event | None, mode: str,
    installed: InstalledProject | None, server: ForkServer | None, note: str | None,
    started: float, copy: Callable[[Path | None, Path], None] = copy_project,
) -> JobOutcome:
    base = server.home if server is not None else job.workspaces_dir
    root = await asyncio.to_thread(create_workspace, base, job.job_id)
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    consumer = asyncio.create_task(_deliver(queue, on_event))
    outcome = JobOutcome(isolation=mode, exit_code=None, timed_out=False, cancelled=False,
                         duration_s=0.0, stderr_tail="", items_reported=0, invocations=0,
                         start="cold", start_note=note)
    tracker = Tracker(job.items, {}, job.limits.output_bytes)
    try:
        try:
            ws = await asyncio.to_thread(prepare, job, root, installed, copy)
        except OSError as exc:
            tracker.close_all(f"could not prepare the workspace: {exc}")
        else:
            tracker = Tracker(job.items, ws.code_files, job.limits.output_bytes)
            if server is not None and (unsafe := unsafe_reason(server, ws)) is not None:
                server, outcome.start_note = None, unsafe
            launch = _Launch(job, mode, ws, server)
            await _run_batches(job, ws, tracker, queue, outcome, started, cancel, launch)
        if outcome.cancelled:
            tracker.close_all("not run: the job was cancelled")
        elif outcome.timed_out:
            tracker.close_all(f"not run: the job hit its {job.limits.wall_seconds:g}s time limit")
        else:
            tracker.close_all("not run: pytest did not report this test")
        for event in tracker.take_events():
            queue.put_nowait(event)
    finally:
        queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await asyncio.to_thread(shutil.rmtree, root, True)
    outcome.items_reported = tracker.reported
    outcome.duration_s = time.monotonic() - started
    return outcome


async def _refuse(job: Job, on_event: OnEvent, reason: str, isolation: str) -> JobOutcome:
    """The job cannot start (no sandbox here, the project does not build): every item
    ends in error with the reason, none runs."""
    tracker = Tracker(job.items, {}, job.limits.output_bytes)
    tracker.close_all(f"not run: {reason}")
    for event in tracker.take_events():
        await on_event(event)
    return JobOutcome(isolation=isolation, exit_code=None, timed_out=False, cancelled=False,
                      duration_s=0.0, stderr_tail=reason, items_reported=0,
                      invocations=0)


async def _deliver(queue: asyncio.Queue[Event | None], on_event: OnEvent) -> None:
    while (event := await queue.get()) is not None:
        await on_event(event)


class _Launch:
    """Starts one pytest invocation of a job: forked warm when it can, else cold."""

    def __init__(self, job: Job, mode: str, ws: Workspace, server: ForkServer | None) -> None:
        self.job, self.mode, self.ws, self.server = job, mode, ws, server
        self.count = 0

    @property
    def start(self) -> str:
        return "warm" if self.server is not None else "cold"

    async def __call__(
        self, argv: list[str], limits: Limits, on_line: Callable[[str], None],
        kill: asyncio.Event, outcome: JobOutcome, reported: Callable[[], int],
    ) -> SandboxResult:
        job, ws = self.job, self.ws
        env = {**job.test_env, "PYTHONPATH": ws.pythonpath()}
        if self.server is not None:
            self.count += 1
            site = ws.plugin_dir / "sitecustomize.py"
            before = reported()
            try:
                result = await self.server.run(
                    f"{job.job_id}-{self.count}", argv=pytest_arguments(argv), workspace=ws.root,
                    cwd=ws.project, env=env, path=ws.pythonpath().split(":"),
                    site=site if site.is_file() else None, limits=limits,
                    on_report_line=on_line, cancel=kill)
            except ForkServerError as exc:
                outcome.start_note, outcome.warm_failed = f"{WARM_FAILED}: {exc}", True
            else:
                if result.exit_code != START_FAILED or reported() != before:
                    outcome.start = "warm"
                    return result
                outcome.start_note = f"{WARM_FAILED}: {result.stderr[-2000:]}"
                outcome.warm_failed = True
            self.server = None
        return await run_sandboxed(
            argv, workspace=ws.root, cwd=ws.project, limits=limits, isolation=self.mode,
            readonly_paths=environment_root(job.python), env=env,
            on_report_line=on_line, cancel=kill)


async def _run_batches(
    job: Job, ws: Workspace, tracker: Tracker,
    queue: asyncio.Queue[Event | None], outcome: JobOutcome, started: float,
    cancel: asyncio.Event | None, launch: _Launch,
) -> None:
    def on_line(line: str) -> None:
        tracker.feed(line)
        for event in tracker.take_events():
            queue.put_nowait(_stamped(event, launch.start))

    override: list[str] | None = None
    while tracker.open_items():
        remaining = job.limits.wall_seconds - (time.monotonic() - started)
        if remaining <= 0:
            outcome.timed_out = True
            return
        if cancel is not None and cancel.is_set():
            outcome.cancelled = True
            return
        args = _select(job, ws, tracker)
        if not tracker.open_items():
            return
        open_before = len(tracker.open_items())
        kill = asyncio.Event()
        reason: list[str] = []
        watchdog = asyncio.create_task(_watch(tracker, job.test_timeout_s, cancel, kill, reason))
        try:
            result = await launch(
                run_argv(job.python, rootdir=ws.project, select_file=ws.select_file,
                         test_timeout_s=job.test_timeout_s,
                         output_limit=job.limits.output_bytes, args=args,
                         override=[*(override or []), *job.pytest_args]),
                replace(job.limits, wall_seconds=remaining), on_line, kill, outcome,
                lambda: tracker.reported)
        finally:
            watchdog.cancel()
        outcome.invocations += 1
        outcome.exit_code = result.exit_code
        outcome.stderr_tail = result.stderr
        if result.exit_code == USAGE_ERROR and override is None and not tracker.reported:
            fixed = neutralized(ws.project, result.stdout + result.stderr)
            if fixed is not None:
                override, dropped = fixed
                tracker.note_all(neutralized_note(dropped))
                continue
        if result.timed_out:
            outcome.timed_out = True
            tracker.interrupt(f"the job hit its {job.limits.wall_seconds:g}s time limit")
        elif reason == ["cancel"]:
            outcome.cancelled = True
            tracker.interrupt("cancelled")
        elif reason == ["test-timeout"]:
            tracker.interrupt("pytest was stopped: another test of this item hung",
                              running_reason=f"timed out after {job.test_timeout_s:g}s "
                                             "(the test did not stop and pytest was killed)")
        elif tracker.open_items():
            tracker.interrupt(_exit_reason(result))
            if len(tracker.open_items()) >= open_before:
                tracker.close_all(_exit_reason(result))  # no progress at all: do not loop
        for event in tracker.take_events():
            queue.put_nowait(_stamped(event, launch.start))
        if outcome.timed_out or outcome.cancelled:
            return


def _stamped(event: Event, start: str) -> Event:
    """An item's result, marked with the start (warm or cold) of the pytest that ran it."""
    if isinstance(event, ItemFinished) and event.start is None:
        return event.model_copy(update={"start": start})
    return event


def _select(job: Job, ws: Workspace, tracker: Tracker) -> list[str]:
    """Write the plugin's selection for the open items; return pytest's path arguments."""
    open_keys = {i.key for i in tracker.open_items()}
    files = [path for path, key in ws.code_files.items() if key in open_keys]
    nodeids: list[str] = []
    paths: list[str] = []
    found: dict[str, bool] = {}  # 25,000 node ids of one module: one stat, not 25,000
    for item in tracker.open_items():
        if item.kind != "reference" or not item.nodeid:
            continue
        path = item.nodeid.split("::", 1)[0].rstrip("/")
        if path not in found:
            found[path] = ".." not in path.split("/") and (ws.project / path).resolve().exists()
        if not found[path]:
            tracker.close_item(item.key, f"{item.nodeid} was not found in the project")
            continue
        nodeids.append(item.nodeid)
        paths.append(path)
    ws.select_file.write_text(json.dumps({"files": files, "nodeids": nodeids}), "utf-8")
    # pytest is quadratic in its path arguments: pass few, let the plugin select.
    paths = list(dict.fromkeys(paths))
    if len(paths) > MAX_PATH_ARGS:
        paths = list(dict.fromkeys(p.split("/", 1)[0] for p in paths))
    return ([ws.code_dir] if files and ws.code_dir else []) + paths


async def _watch(
    tracker: Tracker, test_timeout_s: float, cancel: asyncio.Event | None,
    kill: asyncio.Event, reason: list[str],
) -> None:
    """Kill pytest on job cancel, or when a test outlives its timeout plus grace."""
    while True:
        await asyncio.sleep(0.1)
        if cancel is not None and cancel.is_set():
            reason.append("cancel")
            kill.set()
            return
        current = tracker.current
        if current and time.monotonic() - current[1] > test_timeout_s + HARD_TIMEOUT_GRACE_S:
            reason.append("test-timeout")
            kill.set()
            return


def _exit_reason(result: SandboxResult) -> str:
    code = result.exit_code
    how = f"was killed by signal {-code}" if code is not None and code < 0 else (
        f"exited with code {code}")
    tail = (result.stdout[-3000:] + "\n" + result.stderr[-3000:]).strip()
    return f"pytest {how} before reporting this test\n{tail}".strip()
