"""Test cases: write, edit (with optimistic concurrency), list with filters, bulk-edit."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, status
from sqlalchemy import Select, exists, select, update
from sqlalchemy.orm import Session

from assay.api.deps import DbSession, Editor, Viewer
from assay.api.errors import BODY, ROLE, conflict, errors, field_error, not_found
from assay.api.pagination import Page, PageDep, paginate
from assay.api.routes.projects import get_project
from assay.api.schemas.tests import (
    BulkResult,
    BulkUpdate,
    LastRun,
    TestCaseCreate,
    TestCaseOut,
    TestCaseUpdate,
    TestRunHistoryOut,
)
from assay.db.base import affected, utcnow
from assay.db.models import (
    ExecutionPlan,
    Origin,
    Priority,
    TestCase,
    TestCaseTag,
    TestRun,
    TestStatus,
)
from assay.db.search import text_match
from assay.services.test_cases import new_test_case, set_tags, touch
from assay.services.test_code import CodeProblem, check_test_code
from assay.services.test_history import latest_runs

router = APIRouter(prefix="/tests", tags=["tests"])

SORTS = {
    "created_at": TestCase.created_at,
    "updated_at": TestCase.updated_at,
    "title": TestCase.title,
    "priority": TestCase.priority_rank,
    "status": TestCase.status,
}


def get_test_case(session: Session, test_id: str) -> TestCase:
    case = session.get(TestCase, test_id)
    if case is None:
        raise not_found("test case", test_id)
    return case


def _checked_code(code: str) -> str:
    try:
        check_test_code(code)
    except CodeProblem as exc:
        raise field_error(
            "code",
            exc.message,
            "syntax_error" if exc.line else "no_test",
            line=exc.line,
            column=exc.column,
        ) from exc
    return code


NO_CASE = {404: "No such test case."}
RACE = {409: "A concurrent change (such as its project being deleted); try again."}


@router.post(
    "",
    response_model=TestCaseOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(*ROLE, *BODY, {404: "No such project."}, RACE),
)
def create_test(body: TestCaseCreate, user: Editor, session: DbSession) -> TestCase:
    get_project(session, body.project_id)
    if body.code is not None:
        _checked_code(body.code)
    case = new_test_case(
        session,
        project_id=body.project_id,
        title=body.title,
        description=body.description,
        code=body.code,
        reference=body.reference,
        priority=body.priority,
        tags=body.tags,
        status=body.status.value,
        origin=body.origin.value,
        target=body.target,
        created_by=user.id,
    )
    session.flush()
    return case


def filtered(
    project_id: str | None = None,
    status: list[TestStatus] | None = None,
    origin: list[Origin] | None = None,
    priority: list[Priority] | None = None,
    tag: list[str] | None = None,
    q: str | None = None,
) -> Select[Any]:
    """The test cases matching the list filters (also used to select tests for a plan)."""
    stmt = select(TestCase)
    if project_id:
        stmt = stmt.where(TestCase.project_id == project_id)
    if status:
        stmt = stmt.where(TestCase.status.in_([s.value for s in status]))
    if origin:
        stmt = stmt.where(TestCase.origin.in_([o.value for o in origin]))
    if priority:
        stmt = stmt.where(TestCase.priority.in_([p.value for p in priority]))
    for one in tag or []:
        stmt = stmt.where(exists().where(TestCaseTag.test_case_id == TestCase.id, tag_matches(one)))
    if q:
        # `q` is literal text (no wildcards, no operators), matched by each database's
        # search index where it has one: see assay.db.search.
        stmt = stmt.where(text_match(q))
    return stmt


def tag_matches(wanted: str) -> Any:
    """`api` is the tag `api` exactly; `api*` is every tag that starts with `api`.

    A tag cannot contain `*`, so a trailing one always means "starts with".
    """
    if wanted.endswith("*"):
        return TestCaseTag.tag.startswith(wanted[:-1], autoescape=True)
    return TestCaseTag.tag == wanted


def cases_out(session: Session, cases: list[TestCase]) -> list[TestCaseOut]:
    """Test cases as answered, each with its last result (one query for all of them)."""
    latest = latest_runs(session, [c.id for c in cases])
    out = []
    for case in cases:
        item = TestCaseOut.model_validate(case)
        run = latest.get(case.id)
        if run is not None:
            item.last_run = LastRun(
                run_id=run.run_id, plan_id=run.plan_id, status=run.status,
                duration_s=run.duration_s, finished_at=run.finished_at,
            )
        out.append(item)
    return out


def case_out(session: Session, case: TestCase) -> TestCaseOut:
    return cases_out(session, [case])[0]


@router.get("", response_model=Page[TestCaseOut], responses=errors(*ROLE, 422))
def list_tests(
    _: Viewer,
    session: DbSession,
    page: PageDep,
    project_id: str | None = Query(None, max_length=32),
    status: list[TestStatus] | None = Query(None),
    origin: list[Origin] | None = Query(None),
    priority: list[Priority] | None = Query(None),
    tag: list[str] | None = Query(
        None,
        description="Tests carrying every tag given; a trailing `*` matches tags starting "
        "with the rest (`api*`: `api`, `api:v2`).",
    ),
    q: str | None = Query(None, max_length=200, description=(
            "Case-insensitive text in the title, description, code or reference."
        )),
    sort: Literal["created_at", "updated_at", "title", "priority", "status"] = "created_at",
    order: Literal["asc", "desc"] = "desc",
    include_archived: bool = Query(
        False,
        description="Also list archived test cases (hidden unless asked for, or unless "
        "`status` names `archived`).",
    ),
) -> Page[TestCaseOut]:
    stmt = filtered(project_id, status, origin, priority, tag, q)
    if not include_archived and not status:
        stmt = stmt.where(TestCase.status != TestStatus.archived.value)
    return paginate(
        session, stmt, page, SORTS[sort], TestCase.id, order == "desc",
        lambda rows: cases_out(session, rows),
    )


@router.get("/{test_id}", response_model=TestCaseOut, responses=errors(*ROLE, 422, NO_CASE))
def read_test(test_id: str, _: Viewer, session: DbSession) -> TestCaseOut:
    return case_out(session, get_test_case(session, test_id))


@router.get(
    "/{test_id}/runs",
    response_model=Page[TestRunHistoryOut],
    responses=errors(*ROLE, 422, NO_CASE),
)
def test_runs(
    test_id: str, _: Viewer, session: DbSession, page: PageDep
) -> Page[TestRunHistoryOut]:
    """The test case's runs, newest first: status, duration, failure, plan and snapshot."""
    case = get_test_case(session, test_id)
    stmt = select(TestRun).where(TestRun.test_case_id == case.id)

    def items(rows: list[TestRun]) -> list[TestRunHistoryOut]:
        plan_ids = {r.plan_id for r in rows}
        plans = {
            p.id: p
            for p in session.scalars(select(ExecutionPlan).where(ExecutionPlan.id.in_(plan_ids)))
        } if plan_ids else {}
        return [
            TestRunHistoryOut(
                id=r.id, status=r.status, attempt=r.attempt, duration_s=r.duration_s,
                failure=r.failure, isolation=r.isolation, created_at=r.created_at,
                started_at=r.started_at, finished_at=r.finished_at, plan_id=r.plan_id,
                plan_name=plans[r.plan_id].name, plan_status=plans[r.plan_id].status,
                plan_trigger=plans[r.plan_id].trigger,
                snapshot_hash=plans[r.plan_id].snapshot_hash,
            )
            for r in rows
        ]

    return paginate(session, stmt, page, TestRun.created_at, TestRun.id, True, items)


@router.patch(
    "/{test_id}",
    response_model=TestCaseOut,
    responses=errors(
        *ROLE, *BODY, NO_CASE, {409: "`version` is not the current one: reload and retry."}
    ),
)
def update_test(
    test_id: str, body: TestCaseUpdate, _: Editor, session: DbSession
) -> TestCaseOut:
    """Edit a test case; `version` must be the one you read, or the answer is 409."""
    case = get_test_case(session, test_id)
    if body.version != case.version:
        raise conflict(
            f"test case was changed by someone else (you edited version {body.version}, "
            f"it is now version {case.version}); reload it and apply your change again"
        )
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("title", "description", "status", "priority"):
        if required in changes and changes[required] is None:
            raise field_error(required, f"{required} cannot be null; leave it out to keep it")
    if "code" in changes and changes["code"] is not None:
        _checked_code(changes["code"])
    new_code = changes.get("code", case.code)
    new_ref = changes.get("reference", case.reference)
    if (new_code is None) == (new_ref is None):
        raise field_error("code", "a test case has exactly one of 'code' or 'reference'")
    for field in ("title", "description", "code", "reference", "target"):
        if field in changes:
            setattr(case, field, changes[field])
    if body.status is not None:
        case.status = body.status.value
    if body.priority is not None:
        case.priority, case.priority_rank = body.priority.value, body.priority.rank
    if body.tags is not None:
        set_tags(case, body.tags)
    # Compare-and-set on the version, so two concurrent PATCHes cannot both win.
    won = affected(
        session,
        update(TestCase)
        .where(TestCase.id == case.id, TestCase.version == body.version)
        .values(version=body.version + 1)
        .execution_options(synchronize_session=False)
    )
    if not won:
        raise conflict("test case was changed by someone else; reload it and try again")
    case.version = body.version + 1
    case.updated_at = utcnow()
    session.flush()
    return case_out(session, case)


@router.delete(
    "/{test_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(*ROLE, 422, NO_CASE, RACE),
)
def delete_test(test_id: str, _: Editor, session: DbSession) -> None:
    session.delete(get_test_case(session, test_id))


@router.post(
    "/bulk",
    response_model=BulkResult,
    responses=errors(*ROLE, *BODY, {404: "One of the test cases does not exist."}, RACE),
)
def bulk_update(body: BulkUpdate, _: Editor, session: DbSession) -> BulkResult:
    """Change status, priority or tags of many test cases in one transaction."""
    cases = list(session.scalars(select(TestCase).where(TestCase.id.in_(body.ids))))
    missing = set(body.ids) - {c.id for c in cases}
    if missing:
        raise not_found("test case", sorted(missing)[0])
    for case in cases:
        if body.status is not None:
            case.status = body.status.value
        if body.priority is not None:
            case.priority, case.priority_rank = body.priority.value, body.priority.rank
        if body.add_tags or body.remove_tags:
            tags = [t for t in case.tags if t not in body.remove_tags] + body.add_tags
            set_tags(case, tags)
        touch(case)
    return BulkResult(updated=len(cases))
