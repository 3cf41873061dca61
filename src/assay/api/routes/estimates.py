"""A plan's time left, from the past durations of its tests on the same project."""

from __future__ import annotations

from fastapi import APIRouter

from assay.api.deps import DbSession, Viewer
from assay.api.errors import ROLE, errors, not_found
from assay.api.schemas.estimates import PlanEstimateOut, RunningEstimate
from assay.db.models import ExecutionPlan
from assay.services.estimates import WINDOW, estimate_plan

router = APIRouter(prefix="/execution", tags=["execution"])


@router.get(
    "/plans/{plan_id}/estimate",
    response_model=PlanEstimateOut,
    responses=errors(*ROLE, 422, {404: "No such execution plan."}),
)
def plan_estimate(plan_id: str, _: Viewer, session: DbSession) -> PlanEstimateOut:
    """Seconds the plan has left: each unfinished test's median past duration.

    The medians are of each test's last few finished runs (passed, failed or errored)
    in earlier plans; a test without any is guessed at this plan's mean so far. A
    finished plan has nothing left (`remaining_s` 0).
    """
    if session.get(ExecutionPlan, plan_id) is None:
        raise not_found("execution plan", plan_id)
    est = estimate_plan(session, plan_id)
    return PlanEstimateOut(
        plan_id=plan_id,
        as_of=est.as_of,
        remaining_s=est.remaining_s,
        queued_s=est.queued_s,
        running=[RunningEstimate(**vars(r)) for r in est.running],
        unfinished=est.unfinished,
        with_history=est.with_history,
        samples=est.samples,
        window=WINDOW,
        fallback_s=est.fallback_s,
    )
