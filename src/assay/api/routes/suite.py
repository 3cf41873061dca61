"""A project's own suite: import its tests, export and import JUnit XML results."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from sqlalchemy import select

from assay.api.deps import Ctx, DbSession, Editor, Viewer
from assay.api.errors import BODY, ROLE, conflict, errors
from assay.api.routes.execution import get_plan, plan_out
from assay.api.routes.projects import get_project
from assay.api.schemas.execution import PlanOut
from assay.api.schemas.suite import ImportOut
from assay.contracts import events as ev
from assay.db.base import utcnow
from assay.db.models import ExecutionPlan, PlanStatus, Priority, TestCase, TestRun, Trigger
from assay.errors import NotFound
from assay.events import store as events
from assay.orchestrator.results import plan_counts, verdict
from assay.services import junit
from assay.services.suite_jobs import ImportRunning

router = APIRouter(tags=["suite"])


PUBLIC = ("id", "status", "started_at", "finished_at", "collected", "created", "restored",
          "archived", "unchanged", "archived_ids", "errors", "notes", "detail")


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in PUBLIC if k in record}


@router.post(
    "/projects/{project_id}/import-tests",
    response_model=ImportOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(
        *ROLE, 422,
        {404: "No such project.", 409: "An import of this project is already running."},
    ),
)
async def import_tests(project_id: str, user: Editor, ctx: Ctx) -> dict[str, Any]:
    """Start importing the project's own pytest suite as reference test cases.

    Answers at once with the running import; follow it with
    `GET /projects/{id}/import-tests` or the `suite.import.*` events. Building the
    environment and collecting happen in the background, in the sandbox.

    Idempotent: an import creates nothing new for tests already imported, archives
    tests that disappeared and restores ones that came back. A module that fails to
    collect costs only its own tests, as in pytest: it is listed in `errors`, its
    tests already imported stay as they are, and it imports once fixed. A failure of
    the whole import ends it as `failed` with a `detail` that says what to fix.
    """
    imports = ctx.imports
    assert imports is not None, "the server's lifespan starts the import jobs"

    def begin() -> dict[str, Any]:
        with ctx.db.session() as session:
            return imports.start(session, get_project(session, project_id), user.id)

    try:
        record = await asyncio.to_thread(begin)
    except ImportRunning as exc:
        raise conflict(f"an import of this project is already running (id {exc})") from exc
    imports.launch(project_id, record["id"], user.id)
    return _public(record)


@router.get(
    "/projects/{project_id}/import-tests",
    response_model=ImportOut,
    responses=errors(*ROLE, 422, {404: "No such project, or it was never imported."}),
)
def last_import(project_id: str, _: Viewer, session: DbSession) -> dict[str, Any]:
    """The project's latest import: `running`, `finished` (with its counts and the
    modules that failed to collect) or `failed` (with `detail`)."""
    record = get_project(session, project_id).last_import
    if not record:
        raise NotFound("this project was never imported")
    return _public(record)


@router.get(
    "/execution/plans/{plan_id}/junit",
    response_class=Response,
    responses={
        200: {"description": "A JUnit XML report.",
              "content": {"application/xml": {"schema": {"type": "string"}}}},
        **errors(*ROLE, 422, {404: "No such execution plan."}),
    },
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
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/xml": {"schema": {"type": "string"}}},
            "description": "A JUnit XML report (pytest's `--junitxml`, Maven Surefire, ...).",
        }
    },
    responses=errors(
        *ROLE, *BODY,
        {404: "No such project.", 409: "A concurrent change; try again.",
         422: "The body is not a JUnit XML report."},
    ),
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
    except junit.JUnitError as exc:  # the same kind (422), said with what it is about
        raise junit.JUnitError(f"not a JUnit XML report: {exc}") from exc
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
        ev.PlanFinished(status=plan.status, trigger="import"),
        plan_id=plan.id,
        project_id=project.id,
    )
    return plan_out(session, plan)
