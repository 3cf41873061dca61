"""Projects: the code bases whose tests Assay manages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from assay.api.deps import DbSession, Editor, Viewer
from assay.api.errors import BODY, ROLE, conflict, errors, not_found
from assay.api.pagination import Page, PageDep, paginate
from assay.api.schemas.projects import ProjectCreate, ProjectOut, ProjectUpdate
from assay.db.base import utcnow
from assay.db.models import Project, TestCase, TestStatus
from assay.services.projects import validate_source

router = APIRouter(prefix="/projects", tags=["projects"])


def get_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise not_found("project", project_id)
    return project


def _test_counts(session: Session, project_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(test cases not archived, archived ones) per project, in one grouped query."""
    if not project_ids:
        return {}
    archived = case((TestCase.status == TestStatus.archived.value, 1), else_=0)
    rows = session.execute(
        select(TestCase.project_id, func.count(), func.sum(archived))
        .where(TestCase.project_id.in_(project_ids))
        .group_by(TestCase.project_id)
    )
    return {project_id: (n - int(gone or 0), int(gone or 0)) for project_id, n, gone in rows}


def _out(
    session: Session, project: Project, counts: tuple[int, int] | None = None
) -> ProjectOut:
    out = ProjectOut.model_validate(project)
    if counts is None:
        counts = _test_counts(session, [project.id]).get(project.id, (0, 0))
    out.test_count, out.archived_count = counts
    return out


def _source(source: Any) -> dict[str, Any]:
    return validate_source(source.model_dump())  # a SourceError is a 422 at `source`


def _name_taken(session: Session, name: str, except_id: str | None = None) -> bool:
    stmt = select(Project.id).where(func.lower(Project.name) == name.lower())
    if except_id:
        stmt = stmt.where(Project.id != except_id)
    return session.scalar(stmt) is not None


NO_PROJECT = {404: "No such project."}
NAME_TAKEN = {409: "A project of that name exists (or a concurrent change)."}


@router.post(
    "",
    response_model=ProjectOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(*ROLE, *BODY, NAME_TAKEN),
)
def create_project(body: ProjectCreate, user: Editor, session: DbSession) -> ProjectOut:
    if _name_taken(session, body.name):
        raise conflict(f"a project named {body.name!r} already exists")
    project = Project(
        name=body.name,
        description=body.description,
        source=_source(body.source),
        settings=body.settings.model_dump(exclude_defaults=True),
        created_by=user.id,
    )
    session.add(project)
    session.flush()
    return _out(session, project)


@router.get("", response_model=Page[ProjectOut], responses=errors(*ROLE, 422))
def list_projects(
    _: Viewer,
    session: DbSession,
    page: PageDep,
    q: str | None = Query(None, max_length=200, description="Filter by name."),
) -> Page[ProjectOut]:
    stmt = select(Project)
    if q:
        stmt = stmt.where(func.lower(Project.name).contains(q.lower(), autoescape=True))

    def items(rows: list[Project]) -> list[ProjectOut]:
        counts = _test_counts(session, [p.id for p in rows])
        return [_out(session, p, counts.get(p.id, (0, 0))) for p in rows]

    return paginate(session, stmt, page, Project.name, Project.id, False, items)


@router.get(
    "/{project_id}", response_model=ProjectOut, responses=errors(*ROLE, 422, NO_PROJECT)
)
def read_project(project_id: str, _: Viewer, session: DbSession) -> ProjectOut:
    return _out(session, get_project(session, project_id))


@router.patch(
    "/{project_id}",
    response_model=ProjectOut,
    responses=errors(*ROLE, *BODY, NO_PROJECT, NAME_TAKEN),
)
def update_project(
    project_id: str, body: ProjectUpdate, _: Editor, session: DbSession
) -> ProjectOut:
    project = get_project(session, project_id)
    if body.name is not None and body.name != project.name:
        if _name_taken(session, body.name, except_id=project.id):
            raise conflict(f"a project named {body.name!r} already exists")
        project.name = body.name
    if body.description is not None:
        project.description = body.description
    if body.source is not None:
        project.source = _source(body.source)
    if body.settings is not None:
        project.settings = body.settings.model_dump(exclude_defaults=True)
    project.updated_at = utcnow()
    return _out(session, project)


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(
        *ROLE, 422, NO_PROJECT, {409: "The project has test cases, and `force` is not set."}
    ),
)
def delete_project(
    project_id: str,
    _: Editor,
    session: DbSession,
    force: bool = Query(False, description="Also delete its test cases and plans."),
) -> None:
    project = get_project(session, project_id)
    count = session.scalar(
        select(func.count()).select_from(TestCase).where(TestCase.project_id == project.id)
    )
    if count and not force:
        raise conflict(
            f"project {project.name!r} has {count} test case(s); "
            "delete them first or pass ?force=true"
        )
    session.delete(project)
