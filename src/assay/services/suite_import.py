"""Importing a project's own pytest suite as reference test cases.

Re-import is idempotent: a node id becomes one test case once; tests that
disappeared from the suite are archived (not deleted: their history stays), and
come back to `active` if they reappear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from assay.db.base import INSERT_CHUNK, new_id, utcnow
from assay.db.models import Origin, Priority, TestCase, TestCaseTag, TestStatus
from assay.services.test_cases import touch

IMPORTED_TAG = "imported"


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def total(self) -> int:
        return len(self.created) + len(self.restored) + self.unchanged


def title_for(nodeid: str) -> str:
    """`tests/test_calc.py::TestX::test_add[1-2]` → `TestX::test_add[1-2] (test_calc.py)`."""
    path, _, name = nodeid.partition("::")
    return f"{name or nodeid} ({path.rsplit('/', 1)[-1]})"[:300]


def _under(nodeid: str, paths: list[str]) -> bool:
    """Whether `nodeid` belongs to one of `paths` (a module or a directory of the suite)."""
    file = nodeid.split("::", 1)[0]
    return any(p in (".", "") or file == p or file.startswith(p.rstrip("/") + "/")
               or nodeid.startswith(p + "::") for p in paths)


def reconcile_suite(
    session: Session, project_id: str, nodeids: list[str], user_id: str | None,
    unreadable: list[str] | None = None,
) -> ImportResult:
    """Make `nodeids` the project's imported cases; archive the ones that are gone.

    Tests under `unreadable` paths (modules that failed to collect this time) are
    neither archived nor restored: their module is broken, not their tests gone.
    """
    unreadable = unreadable or []
    existing = {
        c.reference: c
        for c in session.scalars(
            select(TestCase).where(
                TestCase.project_id == project_id,
                TestCase.origin == Origin.imported.value,
                TestCase.reference.is_not(None),
            )
        )
    }
    result = ImportResult()
    seen = set()
    for nodeid in dict.fromkeys(nodeids):
        seen.add(nodeid)
        case = existing.get(nodeid)
        if case is None:
            result.created.append(nodeid)
        elif case.status == TestStatus.archived.value:
            case.status = TestStatus.active.value
            touch(case)
            result.restored.append(nodeid)
        else:
            result.unchanged += 1
    for ref, case in existing.items():
        if ref not in seen and case.status != TestStatus.archived.value \
                and not _under(str(ref), unreadable):
            case.status = TestStatus.archived.value
            touch(case)
            result.archived.append(str(ref))
    _insert_imported(session, project_id, result.created, user_id)
    return result


def _insert_imported(session: Session, project_id: str, nodeids: list[str],
                     user_id: str | None) -> None:
    """New imported cases with Core inserts of INSERT_CHUNK rows, not one ORM object each.

    A suite of 100,000 tests took the ORM's unit of work (and the search index's
    triggers, row by row) long enough to hold SQLite's write lock past every other
    writer's busy timeout. `created_at` grows by a microsecond per case, so a listing
    in creation order is the suite's order.
    """
    now = utcnow()
    for start in range(0, len(nodeids), INSERT_CHUNK):
        cases = [{
            "id": new_id(), "project_id": project_id, "title": title_for(nodeid),
            "description": "", "code": None, "reference": nodeid,
            "priority": Priority.medium.value, "priority_rank": Priority.medium.rank,
            "status": TestStatus.active.value, "origin": Origin.imported.value,
            "target": None, "generation_id": None, "created_by": user_id,
            "created_at": now + timedelta(microseconds=start + i), "updated_at": now,
            "version": 1,
        } for i, nodeid in enumerate(nodeids[start : start + INSERT_CHUNK])]
        session.execute(insert(TestCase), cases)
        session.execute(insert(TestCaseTag),
                        [{"test_case_id": c["id"], "tag": IMPORTED_TAG} for c in cases])
