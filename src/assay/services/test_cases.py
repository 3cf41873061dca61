"""Writing test cases: one place that checks code and keeps tags and rank in step."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from assay.db.base import utcnow
from assay.db.models import Priority, TestCase, TestCaseTag
from assay.services.test_code import check_test_code


def set_tags(case: TestCase, tags: Iterable[str]) -> None:
    """Replace the tags; kept sorted, the order the relationship loads them in."""
    wanted = sorted(set(tags))
    current = {row.tag: row for row in case.tag_rows}
    case.tag_rows = [current.get(tag) or TestCaseTag(tag=tag) for tag in wanted]


def new_test_case(
    session: Session,
    *,
    project_id: str,
    title: str,
    code: str | None = None,
    reference: str | None = None,
    description: str = "",
    priority: Priority = Priority.medium,
    tags: Iterable[str] = (),
    status: str = "active",
    origin: str = "manual",
    target: str | None = None,
    generation_id: str | None = None,
    created_by: str | None = None,
) -> TestCase:
    """Add a test case; `code` must already be checked or come from a trusted source."""
    if code is not None:
        check_test_code(code)
    case = TestCase(
        project_id=project_id,
        title=title,
        description=description,
        code=code,
        reference=reference,
        priority=priority.value,
        priority_rank=priority.rank,
        status=status,
        origin=origin,
        target=target,
        generation_id=generation_id,
        created_by=created_by,
    )
    set_tags(case, tags)
    session.add(case)
    return case


def touch(case: TestCase) -> None:
    case.updated_at = utcnow()
    case.version += 1
