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

from assay.environments.install import ProjectBuildError, ensure_installed
from assay.runner.models import ItemFinished, ItemStarted, Job, JobOutcome
from assay.runner.pytest_cmd import USAGE_ERROR, environment_root, run_argv
from assay.runner.pytest_config import neutralized, neutralized_note
from assay.runner.tracker import Event, Tracker
from assay.runner.workspace import Workspace, create_workspace, prepare
from assay.sandbox import SandboxResult, SandboxUnavailable, resolve_isolation, run_sandboxed

HARD_TIMEOUT_GRACE_S = 3.0
"""The plugin fails a slow test at test_timeout_s; past this grace we kill pytest."""

MAX_PATH_ARGS = 20

OnEvent = Callable[[ItemStarted | ItemFinished], Awaitable[None]]


async def run_job(
    job: Job, on_event: OnEvent, cancel: asyncio.Event | None = None
) -> JobOutcome:
    """Run every item of `job`; each gets exactly one ItemStarted and one ItemFinished."""
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
    root = await asyncio.to_thread(create_workspace, job.workspaces_dir, job.job_id)
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    consumer = asyncio.create_task(_deliver(queue, on_event))
    outcome = JobOutcome(isolation=mode, exit_code=None, timed_out=False, cancelled=False,
                         duration_s=0.0, stderr_tail="", items_reported=0, invocations=0)
    tracker = Tracker(job.items, {}, job.limits.output_bytes)
    try:
        try:
            ws = await asyncio.to_thread(prepare, job, root, installed)
        except OSError as exc:
            tracker.close_all(f"could not prepare the workspace: {exc}")
        else:
            tracker = Tracker(job.items, ws.code_files, job.limits.output_bytes)
            await _run_batches(job, mode, ws, tracker, queue, outcome, started, cancel)
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


async def _run_batches(
    job: Job, mode: str, ws: Workspace, tracker: Tracker,
    queue: asyncio.Queue[Event | None], outcome: JobOutcome, started: float,
    cancel: asyncio.Event | None,
) -> None:
    def on_line(line: str) -> None:
        tracker.feed(line)
        for event in tracker.take_events():
            queue.put_nowait(event)

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
            result = await run_sandboxed(
                run_argv(job.python, rootdir=ws.project, select_file=ws.select_file,
                         test_timeout_s=job.test_timeout_s,
                         output_limit=job.limits.output_bytes, args=args,
                         override=[*(override or []), *job.pytest_args]),
                workspace=ws.root, cwd=ws.project,
                limits=replace(job.limits, wall_seconds=remaining),
                isolation=mode, readonly_paths=environment_root(job.python),
                env={**job.test_env, "PYTHONPATH": ws.pythonpath()},
                on_report_line=on_line, cancel=kill,
            )
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
            queue.put_nowait(event)
        if outcome.timed_out or outcome.cancelled:
            return


def _select(job: Job, ws: Workspace, tracker: Tracker) -> list[str]:
    """Write the plugin's selection for the open items; return pytest's path arguments."""
    open_keys = {i.key for i in tracker.open_items()}
    files = [path for path, key in ws.code_files.items() if key in open_keys]
    nodeids: list[str] = []
    paths: list[str] = []
    for item in tracker.open_items():
        if item.kind != "reference" or not item.nodeid:
            continue
        path = item.nodeid.split("::", 1)[0].rstrip("/")
        target = (ws.project / path).resolve()
        if ".." in path.split("/") or not target.exists():
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
