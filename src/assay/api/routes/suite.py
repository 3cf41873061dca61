"""A project's own suite: import its tests, export and import JUnit XML results."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy import select

from assay.api.context import AppContext
from assay.api.deps import Ctx, DbSession, Editor, Viewer
from assay.api.project_errors import answering_project_failures
from assay.api.routes.execution import get_plan, plan_out
from assay.api.routes.projects import get_project
from assay.api.schemas.execution import PlanOut
from assay.db.base import utcnow
from assay.db.models import ExecutionPlan, PlanStatus, Priority, TestCase, TestRun, Trigger
from assay.events import store as events
from assay.orchestrator.results import plan_counts, verdict
from assay.runner import Collected, collect_tests
from assay.sandbox import Limits
from assay.services import junit
from assay.services.source import snapshot_source
from assay.services.suite_import import reconcile_suite

router = APIRouter(tags=["suite"])


async def _collect(
    ctx: AppContext, source: dict[str, Any], project_settings: dict[str, Any]
) -> Collected:
    """Snapshot the source, lease its environment, collect node ids in the sandbox."""
    settings = ctx.settings
    snap = await asyncio.to_thread(snapshot_source, source, settings, project_settings)
    async with ctx.pool.lease(snap.env_spec) as env:
        return await collect_tests(
            snap.path,
            env.python,
            settings.workspaces_dir,
            Limits(
                wall_seconds=300,
                memory_bytes=settings.memory_limit_mb << 20,
                max_processes=settings.max_processes,
            ),
            settings.sandbox,
            env.install_dir(snap.digest) if snap.env_spec.install_project else None,
            dict(snap.settings.env),
            list(snap.settings.pytest_args),
        )


@router.post(
    "/projects/{project_id}/import-tests",
    responses={
        422: {"description": "The project cannot be collected (see `detail`)."},
        503: {"description": "The sandbox cannot run on this server."},
    },
)
async def import_tests(project_id: str, user: Editor, ctx: Ctx) -> dict[str, Any]:
    """Collect the project's own pytest tests in the sandbox; make reference test cases.

    Idempotent: a second import creates nothing new, archives tests that disappeared
    and restores ones that came back. A module that fails to collect costs only its
    own tests, as in pytest: it is listed in `errors` (and kept as the project's
    `last_import`), its tests already imported stay as they are, and it becomes test
    cases at the next import once fixed. A failure of the whole import answers
    `{"detail": "..."}`: 422 when the project must change (requirements that do not
    install, a build that fails, an unreachable git ref), 503 when the sandbox cannot
    run on this server.
    """

    def load() -> tuple[dict[str, Any], dict[str, Any]]:
        with ctx.db.session() as session:
            project = get_project(session, project_id)
            return dict(project.source), dict(project.settings or {})

    source, project_settings = await asyncio.to_thread(load)
    with answering_project_failures(source.get("path")):
        collected = await _collect(ctx, source, project_settings)
    nodeids = collected.nodeids
    errors = [{"path": e.path, "error": e.error[-4000:]} for e in collected.errors]

    def save() -> dict[str, Any]:
        with ctx.db.session() as session:
            result = reconcile_suite(session, project_id, nodeids, user.id,
                                     unreadable=[e["path"] for e in errors])
            project = get_project(session, project_id)
            project.last_import = {"at": utcnow().isoformat(), "collected": len(nodeids),
                                   "errors": errors}
            return {
                "notes": collected.notes,
                "errors": errors,
                "collected": len(nodeids),
                "created": len(result.created),
                "restored": len(result.restored),
                "archived": len(result.archived),
                "unchanged": result.unchanged,
                "archived_ids": result.archived[:100],
            }

    return await asyncio.to_thread(save)


@router.get(
    "/execution/plans/{plan_id}/junit",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
)
def export_junit(plan_id: str, _: Viewer, session: DbSession) -> Response:
    """The plan's results as JUnit XML, for CI systems that read it."""
    plan = get_plan(session, plan_id)
    return Response(
        junit.export_plan(plan),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="assay-{plan_id}.xml"'},
    )


@router.post(
    "/projects/{project_id}/results/junit",
    response_model=PlanOut,
    status_code=status.HTTP_201_CREATED,
)
async def import_junit(
    project_id: str, request: Request, user: Editor, session: DbSession
) -> PlanOut:
    """Record an outside run (a JUnit XML body) as a finished plan, trigger `import`.

    Test cases are matched by node id (pytest's classname + name); others are kept as
    runs with their own names.
    """
    project = get_project(session, project_id)
    try:
        cases = junit.parse(await request.body())
    except junit.JUnitError as exc:
        raise HTTPException(422, f"not a JUnit XML report: {exc}") from exc
    index = {
        junit.junit_key(ref): cid
        for cid, ref in session.execute(
            select(TestCase.id, TestCase.reference).where(
                TestCase.project_id == project.id, TestCase.reference.is_not(None)
            )
        )
        if ref
    }
    now = utcnow()
    plan = ExecutionPlan(
        project_id=project.id,
        name=f"import of {len(cases)} result(s)",
        priority=Priority.medium.value,
        priority_rank=Priority.medium.rank,
        trigger=Trigger.import_.value,
        status=PlanStatus.running.value,
        created_by=user.id,
        created_at=now,
        started_at=now,
        finished_at=now,
    )
    plan.runs = [
        TestRun(
            position=i,
            test_case_id=index.get((c.classname, c.name)),
            name=f"{c.classname}::{c.name}" if c.classname else c.name,
            status=c.status.value,
            duration_s=c.duration_s,
            failure=c.failure,
            output=c.output,
            finished_at=now,
            isolation="external",
        )
        for i, c in enumerate(cases)
    ]
    session.add(plan)
    session.flush()
    plan.status = verdict(plan_counts(session, plan.id)).value
    events.append(
        session,
        "plan.finished",
        {"status": plan.status, "trigger": "import"},
        plan_id=plan.id,
        project_id=project.id,
    )
    session.commit()
    return plan_out(session, plan)
