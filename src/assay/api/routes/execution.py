"""Execution: plans, the seed's start/poll/restart controls, and metrics."""

from __future__ import annotations

import asyncio
from datetime import date

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.api.context import AppContext
from assay.api.deps import Admin, Ctx, DbSession, Editor, Viewer
from assay.api.errors import BODY, ROLE, conflict, errors, field_error, not_found
from assay.api.origin import ClientName, trigger_for
from assay.api.pagination import Page, PageDep, PageParams, paginate
from assay.api.routes.projects import get_project
from assay.api.routes.tests import filtered
from assay.api.routes.workers import celery_totals
from assay.api.schemas.execution import (
    PlanCreate,
    PlanDetail,
    PlanOut,
    PollResponse,
    QueueOut,
    RerunRequest,
    RunOut,
    StartResponse,
)
from assay.api.schemas.system import MetricsOut, OrchestratorState, RestartResponse
from assay.db.models import (
    ExecutionPlan,
    PlanStatus,
    Priority,
    RunStatus,
    TestRun,
    Trigger,
)
from assay.orchestrator import queue
from assay.orchestrator.results import plan_counts, plans_counts
from assay.services.plan_names import rerun_name, selection_name
from assay.services.plan_search import filter_plans
from assay.services.plans import (
    PlanError,
    cancel_plan,
    cases_by_ids,
    cases_of_plan,
    count_selected,
    create_plan,
    create_plan_selected,
    selected_cases,
)

router = APIRouter(prefix="/execution", tags=["execution"])


def get_plan(session: Session, plan_id: str) -> ExecutionPlan:
    plan = session.get(ExecutionPlan, plan_id)
    if plan is None:
        raise not_found("execution plan", plan_id)
    return plan


RUNS_INLINE = 100
"""Runs a plan's detail holds inline: the first page of `GET /plans/{id}/runs`."""


def runs_page(
    session: Session,
    plan_id: str,
    params: PageParams,
    statuses: list[RunStatus] | None = None,
    counts: dict[str, int] | None = None,
) -> Page[RunOut]:
    """A page of a plan's runs in plan order (position, then id), keyset or offset.

    The total comes from the per-status counts (one grouped scan of the plan's index
    entries), not from counting the filtered rows a second time.
    """
    counts = counts if counts is not None else plan_counts(session, plan_id)
    stmt = select(TestRun).where(TestRun.plan_id == plan_id)
    wanted = [s.value for s in statuses] if statuses else None
    if wanted:
        stmt = stmt.where(TestRun.status.in_(wanted))
    total = sum(n for s, n in counts.items() if wanted is None or s in wanted)

    def items(rows: list[TestRun]) -> list[RunOut]:
        return [RunOut.model_validate(r) for r in rows]

    return paginate(session, stmt, params, TestRun.position, TestRun.id, False, items,
                    total=total)


def plan_out(
    session: Session,
    plan: ExecutionPlan,
    detail: bool = False,
    counts: dict[str, int] | None = None,
) -> PlanOut:
    counts = counts if counts is not None else plan_counts(session, plan.id)
    data = PlanOut.model_validate(plan).model_dump()
    data.update(counts=counts, total=sum(counts.values()))
    if detail:
        first = runs_page(session, plan.id, PageParams(limit=RUNS_INLINE, offset=0, cursor=None),
                          counts=counts)
        return PlanDetail(**data, runs=first.items, runs_next_cursor=first.next_cursor)
    return PlanOut(**data)


def _create(session: Session, body: PlanCreate, user_id: str, trigger: Trigger) -> ExecutionPlan:
    """The plan, flushed; the session's owner commits it (before the answer is sent)."""
    get_project(session, body.project_id)
    if body.test_case_ids is not None:
        cases = cases_by_ids(session, body.project_id, body.test_case_ids)
        return create_plan(
            session,
            project_id=body.project_id,
            cases=cases,
            priority=body.priority,
            name=body.name,
            trigger=trigger,
            created_by=user_id,
        )
    sel = body.selection
    assert sel is not None
    # A selection is written by the database (INSERT ... SELECT): one count, one insert.
    selected = selected_cases(
        filtered(body.project_id, sel.status, sel.origin, sel.priority, sel.tags)
    )
    count = count_selected(session, selected)
    if not count:
        raise PlanError(selected.field, selected.empty)
    name = body.name or selection_name(
        tags=sel.tags, status=sel.status, priority=sel.priority, origin=sel.origin, count=count
    )
    return create_plan_selected(
        session,
        project_id=body.project_id,
        selected=selected,
        priority=body.priority,
        name=name,
        trigger=trigger,
        created_by=user_id,
    )


NO_PLAN = {404: "No such execution plan."}
CREATE_ERRORS = errors(
    *ROLE, *BODY,
    {404: "No such project.",
     409: "A concurrent change (such as the project being deleted); try again.",
     422: "The request is invalid, or names test cases that are not the project's, "
          "or its selection matches none."},
)


@router.post(
    "/plans",
    response_model=PlanOut,
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
def create(
    body: PlanCreate, user: Editor, session: DbSession, client: ClientName = None
) -> PlanOut:
    """Queue a plan; the orchestrator is woken by its `plan.queued` event at once.

    Without a `name`, the plan is named after what it runs ("tags: smoke · 4 tests",
    "3 tests: test_a, test_b, …"); its trigger is the client that sent it.
    """
    return plan_out(session, _create(session, body, user.id, trigger_for(client)))


@router.get("/plans", response_model=Page[PlanOut], responses=errors(*ROLE, 422))
def list_plans(
    _: Viewer,
    session: DbSession,
    page: PageDep,
    project_id: str | None = Query(None, max_length=32),
    status_: list[PlanStatus] | None = Query(None, alias="status"),
    q: str | None = Query(None, max_length=200, description="Text in the name, or an id prefix."),
    trigger: list[Trigger] | None = Query(None, description="Where the plan came from."),
    tag: str | None = Query(None, max_length=64, description="Runs a test with this tag."),
    created_from: date | None = Query(None, description="Created on or after this UTC day."),
    created_to: date | None = Query(None, description="Created on or before this UTC day."),
) -> Page[PlanOut]:
    stmt = select(ExecutionPlan)
    if project_id:
        stmt = stmt.where(ExecutionPlan.project_id == project_id)
    if status_:
        stmt = stmt.where(ExecutionPlan.status.in_([s.value for s in status_]))
    stmt = filter_plans(
        stmt, q=q, triggers=[t.value for t in trigger or []], tag=tag,
        created_from=created_from, created_to=created_to,
    )

    def items(rows: list[ExecutionPlan]) -> list[PlanOut]:
        counts = plans_counts(session, [p.id for p in rows])
        return [plan_out(session, p, counts=counts[p.id]) for p in rows]

    return paginate(session, stmt, page, ExecutionPlan.created_at, ExecutionPlan.id, True, items)


@router.get(
    "/plans/{plan_id}", response_model=PlanDetail, responses=errors(*ROLE, 422, NO_PLAN)
)
def read_plan(plan_id: str, _: Viewer, session: DbSession) -> PlanOut:
    """The plan, its counts, and its first 100 runs; `GET /plans/{id}/runs` pages the rest."""
    return plan_out(session, get_plan(session, plan_id), detail=True)


@router.get(
    "/plans/{plan_id}/runs",
    response_model=Page[RunOut],
    responses=errors(*ROLE, 422, NO_PLAN),
)
def list_runs(
    plan_id: str,
    _: Viewer,
    session: DbSession,
    page: PageDep,
    status_: list[RunStatus] | None = Query(None, alias="status"),
) -> Page[RunOut]:
    """A plan's runs in plan order, a page at a time; `status` (repeatable) filters."""
    get_plan(session, plan_id)
    return runs_page(session, plan_id, page, status_)


@router.post(
    "/plans/{plan_id}/cancel",
    response_model=PlanOut,
    responses=errors(*ROLE, 422, NO_PLAN, {409: "The plan already finished."}),
)
def cancel(plan_id: str, _: Editor, session: DbSession) -> PlanOut:
    """Cancel a queued plan, or stop a running one (its processes are killed)."""
    plan = get_plan(session, plan_id)
    if not cancel_plan(session, plan):
        raise conflict(f"plan {plan_id} already finished ({plan.status}); nothing to cancel")
    return plan_out(session, plan)


@router.post(
    "/plans/{plan_id}/rerun",
    response_model=PlanOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        *ROLE, *BODY, NO_PLAN,
        {409: "A concurrent change; try again.",
         422: "The request is invalid, or no test case of the plan is left to run again."},
    ),
)
def rerun(plan_id: str, body: RerunRequest, user: Editor, session: DbSession) -> PlanOut:
    """Run a plan's test cases again (only those that failed or errored, if asked)."""
    source = get_plan(session, plan_id)
    failed = [RunStatus.failed.value, RunStatus.error.value] if body.failed_only else None
    selected = cases_of_plan(source.id, failed)
    if not count_selected(session, selected):
        raise field_error(selected.field, selected.empty)
    plan = create_plan_selected(
        session,
        project_id=source.project_id,
        selected=selected,
        priority=body.priority or Priority(source.priority),
        name=rerun_name(source.name, body.failed_only),
        trigger=Trigger.rerun,
        created_by=user.id,
        source_plan_id=source.id,
    )
    return plan_out(session, plan)


# -- the seed's API -------------------------------------------------------------------


def orchestrator_state(ctx: AppContext) -> OrchestratorState:
    sup = ctx.supervisor
    if sup is None:
        return OrchestratorState(status="stopped", running=False)
    now = sup.snapshot(ctx.settings.heartbeat_seconds)
    return OrchestratorState.model_validate({"status": now.state, **now.health()})


@router.post(
    "/start",
    response_model=StartResponse,
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def start(body: PlanCreate, user: Editor, ctx: Ctx) -> StartResponse:
    """Create a plan, starting the orchestrator first if it is stopped."""
    if ctx.supervisor is not None and not ctx.supervisor.running:
        await ctx.supervisor.start()

    def work() -> PlanOut:
        with ctx.db.session() as session:
            return plan_out(session, _create(session, body, user.id, Trigger.start))

    plan = await asyncio.to_thread(work)
    return StartResponse(plan=plan, orchestrator=orchestrator_state(ctx))


@router.post(
    "/orchestrator/poll",
    response_model=PollResponse,
    responses=errors(*ROLE, {409: "The orchestrator is stopped."}),
)
async def poll(_: Editor, ctx: Ctx) -> PollResponse:
    """Run a reconcile pass now: recover expired leases and dispatch what waits."""
    sup = ctx.supervisor
    if sup is None or sup.orchestrator is None or not sup.running:
        raise conflict("the orchestrator is stopped; POST /execution/orchestrator/restart")
    detected = await sup.orchestrator.reconcile()
    depth = await sup.orchestrator.read(queue.depth)
    return PollResponse(detected_plans=detected, queue=QueueOut(**vars(depth)))


@router.post(
    "/orchestrator/restart",
    response_model=RestartResponse,
    responses=errors(*ROLE, {409: "This server runs without an orchestrator."}),
)
async def restart(_: Admin, ctx: Ctx) -> RestartResponse:
    """Stop the orchestrator cleanly (running work goes back to the queue) and start it."""
    if ctx.supervisor is None:
        raise conflict("this server runs without an orchestrator")
    await ctx.supervisor.restart()
    return RestartResponse(restarted=True, orchestrator=orchestrator_state(ctx))


def metrics_snapshot(ctx: AppContext) -> MetricsOut:
    with ctx.db.session() as session:
        depth = queue.depth(session)
        finished = dict(
            session.execute(
                select(TestRun.status, func.count())
                .where(TestRun.status.in_([s.value for s in RunStatus if s.final]))
                .group_by(TestRun.status)
            ).all()
        )
    sup = ctx.supervisor
    now = sup.snapshot(ctx.settings.heartbeat_seconds) if sup else None
    celery = celery_totals(ctx)  # Celery workers seen, when jobs run on them
    return MetricsOut.model_validate({
        "orchestrator_status": now.state if now else "stopped",
        "queued_tests": depth.queued_tests,
        "running_tests": depth.running_tests,
        "completed_tests": sum(finished.values()),
        "passed": finished.get("passed", 0),
        "failed": finished.get("failed", 0),
        "errored": finished.get("error", 0),
        "skipped": finished.get("skipped", 0),
        "cancelled": finished.get("cancelled", 0),
        "queued_plans": depth.queued_plans,
        "running_plans": depth.running_plans,
        "workers_busy": celery[0] if celery else (now.busy if now else 0),
        "workers_total": celery[1] if celery else (now.slots if now else 0),
        "dispatch_latency_ms": now.dispatch_latency_ms if now else {"p50": None, "p99": None},
        "uptime_s": now.uptime_s if now else 0,
        "last_heartbeat": now.last_heartbeat.isoformat() if now and now.last_heartbeat else None,
        "restarts": now.restarts if now else 0,
    })
