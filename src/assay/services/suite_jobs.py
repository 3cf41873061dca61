"""Importing a project's suite as a background job: snapshot, environment, collection.

Building a project's environment and installing the project can take minutes (a first
build, a C extension), so it never happens inside an HTTP request: `start` records
the import as the project's `last_import` (status `running`) and answers at once; the
work runs here, in the server process's event loop (its code runs in the sandbox),
and ends as `finished` (with what was created, archived, and the modules that failed
to collect) or `failed` (with a message a person can act on). Each step is an event
(`suite.import.started`, `.progress`, `.finished`, `.failed`), so the dashboard and the
CLI follow it live. An import whose server died is marked failed at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.config import Settings
from assay.contracts import events as ev
from assay.db.base import utcnow
from assay.db.engine import Database
from assay.db.models import Project
from assay.environments import EnvironmentPool
from assay.errors import Conflict
from assay.events import store as events
from assay.orchestrator.owner import owner_is_dead, process_owner
from assay.runner import Collected, collect_tests
from assay.services.preparation import prepared, sandbox_limits
from assay.services.suite_import import reconcile_suite

log = logging.getLogger("assay.server")

RUNNING = "running"
INTERRUPTED = "interrupted: the server stopped during the import; start it again"


class ImportRunning(Conflict, RuntimeError):
    """An import of this project is already running (its id is the message)."""


class SuiteImports:
    """The suite imports of one server process.

    `describe_failure` turns an exception into the message a person reads (the API's
    mapping of project failures), so this layer never imports the API.
    """

    def __init__(self, db: Database, pool: EnvironmentPool, settings: Settings,
                 describe_failure: Callable[[BaseException], str]) -> None:
        self.db = db
        self.pool = pool
        self.settings = settings
        self.describe_failure = describe_failure
        self.owner = process_owner()
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, session: Session, project: Project, user_id: str | None) -> dict[str, Any]:
        """Record a new running import of `project` in `session` (the caller commits it),
        then run it once that transaction is committed (`launch`)."""
        current = project.last_import or {}
        if current.get("status") == RUNNING and not owner_is_dead(str(current.get("owner"))):
            raise ImportRunning(str(current.get("id")))
        record = {"id": uuid.uuid4().hex, "status": RUNNING, "owner": self.owner,
                  "started_at": utcnow().isoformat(), "user_id": user_id}
        project.last_import = record
        events.append(session, ev.ImportStarted(import_id=record["id"]),
                      project_id=project.id)
        return record

    def launch(self, project_id: str, import_id: str, user_id: str | None) -> None:
        task = asyncio.create_task(self._run(project_id, import_id, user_id),
                                   name=f"assay-import-{import_id}")
        self.tasks[import_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(import_id, None))

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()), timeout=10)

    async def _write(self, fn: Callable[[Session], Any]) -> Any:
        def work() -> Any:
            with self.db.session() as session:
                return fn(session)

        return await asyncio.to_thread(work)

    async def _progress(self, project_id: str, import_id: str, phase: str) -> None:
        await self._write(lambda s: events.append(
            s, ev.ImportProgress(import_id=import_id, phase=phase),
            project_id=project_id))

    async def _run(self, project_id: str, import_id: str, user_id: str | None) -> None:
        try:
            collected = await self._collect(project_id, import_id)
            await self._write(lambda s: _finish(s, project_id, import_id, collected, user_id))
        except asyncio.CancelledError:
            await self._write(lambda s: _fail(s, project_id, import_id, INTERRUPTED))
            raise
        except Exception as exc:
            detail = self.describe_failure(exc)
            if detail.startswith("internal error"):
                log.exception("suite import %s of project %s failed", import_id, project_id)
            await self._write(lambda s: _fail(s, project_id, import_id, detail))

    async def _collect(self, project_id: str, import_id: str) -> Collected:
        def load() -> tuple[dict[str, Any], dict[str, Any]]:
            with self.db.session() as session:
                project = session.get(Project, project_id)
                assert project is not None
                return dict(project.source), dict(project.settings or {})

        settings = self.settings
        source, project_settings = await asyncio.to_thread(load)

        async def phase(name: str) -> None:
            await self._progress(project_id, import_id, name)

        async with prepared(source, project_settings, settings, self.pool, phase) as ready:
            await phase("collect")
            snap = ready.snapshot
            return await collect_tests(
                snap.path, ready.env.python, settings.workspaces_dir,
                # collecting a whole suite may take longer than one batch of it runs
                sandbox_limits(settings, max(300.0, settings.job_timeout_seconds)),
                settings.sandbox, ready.install_dir,
                dict(snap.settings.env), list(snap.settings.pytest_args),
            )


def _project(session: Session, project_id: str, import_id: str) -> Project | None:
    """The project, when this import is still its current one (not replaced or deleted)."""
    project = session.get(Project, project_id)
    if project is None or (project.last_import or {}).get("id") != import_id:
        return None
    return project


def _finish(session: Session, project_id: str, import_id: str, collected: Collected,
            user_id: str | None) -> None:
    project = _project(session, project_id, import_id)
    if project is None:
        return
    errors = [{"path": e.path, "error": e.error[-4000:]} for e in collected.errors]
    result = reconcile_suite(session, project_id, collected.nodeids, user_id,
                             unreadable=[e["path"] for e in errors])
    summary = {
        "collected": len(collected.nodeids),
        "created": len(result.created),
        "restored": len(result.restored),
        "archived": len(result.archived),
        "unchanged": result.unchanged,
        "archived_ids": result.archived[:100],
        "errors": errors,
        "notes": collected.notes,
    }
    project.last_import = {**(project.last_import or {}), **summary, "status": "finished",
                           "finished_at": utcnow().isoformat()}
    events.append(session, ev.ImportFinished(import_id=import_id, **summary),
                  project_id=project_id)


def _fail(session: Session, project_id: str, import_id: str, detail: str) -> None:
    project = _project(session, project_id, import_id)
    if project is None:
        return
    project.last_import = {**(project.last_import or {}), "status": "failed", "detail": detail,
                           "finished_at": utcnow().isoformat()}
    events.append(session, ev.ImportFailed(import_id=import_id, detail=detail),
                  project_id=project_id)


def recover_interrupted_imports(session: Session) -> int:
    """Imports whose server process is gone end as failed, never running forever."""
    count = 0
    for project in session.scalars(select(Project).where(Project.last_import.is_not(None))):
        state = project.last_import or {}
        if state.get("status") == RUNNING and owner_is_dead(str(state.get("owner"))):
            _fail(session, project.id, str(state.get("id")), INTERRUPTED)
            count += 1
    return count
