"""Plans at scale: created by bulk insert, their runs read a page at a time.

Real SQLite and real PostgreSQL (the `db_url` fixture), the API without its
orchestrator: a plan stays queued, so what is read is exactly what was written.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from assay.db.base import new_id, utcnow
from assay.db.engine import Database
from assay.db.models import Event, ExecutionPlan, Priority, TestCase, TestRun
from assay.services import plans
from tests.api.conftest import API

Headers = dict[str, str]
PRIORITIES = list(Priority)


def seed_cases(db: Database, project_id: str, n: int, **fields: Any) -> list[str]:
    """`n` test cases written at once; priorities vary and some share a creation time."""
    now = utcnow()
    rows = []
    for i in range(n):
        priority = PRIORITIES[i % len(PRIORITIES)]
        rows.append({
            "id": new_id(),
            "project_id": project_id,
            "title": f"case {i}",
            "description": "",
            # Half refer to a test in the project's tree, half are code of their own.
            "reference": f"tests/test_big.py::test_case[{i}]" if i % 2 else None,
            "code": None if i % 2 else f"def test_{i}():\n    pass\n",
            "priority": priority.value,
            "priority_rank": priority.rank,
            "status": "active",
            "origin": "imported",
            "created_at": now + timedelta(seconds=i // 7),  # ties: 7 cases per second
            "updated_at": now,
            "version": 1,
            **fields,
        })
    with db.session() as s:
        s.execute(insert(TestCase), rows)
    return [r["id"] for r in rows]


def all_pages(client: TestClient, h: Headers, plan_id: str, limit: int,
              **params: Any) -> list[dict[str, Any]]:
    """Every run of `/runs`, following `next_cursor`; checks each page's total."""
    runs: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": limit, **params}
    total = None
    while True:
        r = client.get(f"{API}/execution/plans/{plan_id}/runs", headers=h, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        total = page["total"] if total is None else total
        assert page["total"] == total
        runs.extend(page["items"])
        if not page["next_cursor"]:
            return runs
        query["cursor"] = page["next_cursor"]


def counts(db: Database) -> tuple[int, int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(ExecutionPlan)) or 0,
            s.scalar(select(func.count()).select_from(TestRun)) or 0,
            s.scalar(select(func.count()).select_from(Event)) or 0,
        )


def test_a_selection_plan_has_one_run_per_case_in_order_and_pages_through_them_all(
    client: TestClient, admin: Headers, project: dict[str, Any], db: Database
) -> None:
    n = 457
    ids = seed_cases(db, project["id"], n)
    seed_cases(db, project["id"], 5, status="archived")  # not selected
    # Another project's cases are never selected.
    r = client.post(f"{API}/projects", headers=admin,
                    json={"name": "other", "source": {"type": "path", "path": "/tmp"}})
    assert r.status_code == 201, r.text
    seed_cases(db, r.json()["id"], 3)

    r = client.post(f"{API}/execution/plans", headers=admin,
                    json={"project_id": project["id"], "selection": {}})
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["total"] == n and plan["counts"]["queued"] == n and plan["status"] == "queued"

    # Each run refers to its case, named by the case's reference or else its title, in
    # the plan's order: priority, then age, then id.
    with db.session() as s:
        cases = s.execute(
            select(TestCase.id, TestCase.reference, TestCase.title)
            .where(TestCase.id.in_(ids))
            .order_by(TestCase.priority_rank, TestCase.created_at, TestCase.id)
        ).all()
    walked = all_pages(client, admin, plan["id"], limit=200)
    assert [run["test_case_id"] for run in walked] == [c.id for c in cases]
    assert [run["name"] for run in walked] == [c.reference or c.title for c in cases]
    assert len({run["id"] for run in walked}) == n  # every run exactly once
    # The database made their ids in the plan's order (time, then position), so they
    # were appended to the primary key's index, not scattered over it.
    assert [run["id"] for run in walked] == sorted(run["id"] for run in walked)
    assert all(len(run["id"]) == 32 and int(run["id"], 16) >= 0 for run in walked)
    assert all(run["status"] == "queued" and run["attempt"] == 0 for run in walked)

    # Offset pages give the same sequence, and so do small pages.
    by_offset = []
    for offset in range(0, n, 150):
        page = client.get(f"{API}/execution/plans/{plan['id']}/runs", headers=admin,
                          params={"limit": 150, "offset": offset}).json()
        assert page["total"] == n and page["offset"] == offset
        by_offset.extend(page["items"])
    assert [x["id"] for x in by_offset] == [x["id"] for x in walked]
    assert [x["id"] for x in all_pages(client, admin, plan["id"], limit=37)] == [
        x["id"] for x in walked]

    # The detail holds the first page, says how many there are and where to go on.
    detail = client.get(f"{API}/execution/plans/{plan['id']}", headers=admin).json()
    assert detail["total"] == n
    assert [x["id"] for x in detail["runs"]] == [x["id"] for x in walked[:100]]
    nxt = client.get(f"{API}/execution/plans/{plan['id']}/runs", headers=admin,
                     params={"cursor": detail["runs_next_cursor"], "limit": 5}).json()
    assert [x["id"] for x in nxt["items"]] == [x["id"] for x in walked[100:105]]

    # One plan.queued event, whatever the plan's size.
    with db.session() as s:
        events = s.scalars(select(Event).where(Event.plan_id == plan["id"])).all()
    assert [(e.type, e.payload["total"]) for e in events] == [("plan.queued", n)]


def test_runs_filtered_by_status(
    client: TestClient, admin: Headers, project: dict[str, Any], db: Database
) -> None:
    seed_cases(db, project["id"], 230)
    plan = client.post(f"{API}/execution/plans", headers=admin,
                       json={"project_id": project["id"], "selection": {}}).json()
    walked = all_pages(client, admin, plan["id"], limit=200)
    failed = [x["id"] for i, x in enumerate(walked) if i % 9 == 4]
    errored = [x["id"] for i, x in enumerate(walked) if i % 50 == 7 and i % 9 != 4]
    with db.session() as s:
        s.execute(update(TestRun).where(TestRun.id.in_(failed)).values(status="failed"))
        s.execute(update(TestRun).where(TestRun.id.in_(errored)).values(status="error"))

    only_failed = all_pages(client, admin, plan["id"], limit=10, status="failed")
    assert [x["id"] for x in only_failed] == failed
    bad = all_pages(client, admin, plan["id"], limit=10, status=["failed", "error"])
    assert [x["id"] for x in bad] == [x["id"] for x in walked if x["id"] in {*failed, *errored}]
    queued = all_pages(client, admin, plan["id"], limit=200, status="queued")
    assert len(queued) == 230 - len(failed) - len(errored)
    assert all_pages(client, admin, plan["id"], limit=50, status="passed") == []

    r = client.get(f"{API}/execution/plans/{plan['id']}/runs", headers=admin,
                   params={"status": "nope"})
    assert r.status_code == 422
    r = client.get(f"{API}/execution/plans/missing/runs", headers=admin)
    assert r.status_code == 404

    # A rerun of the failures is the failed and errored runs, in the plan's order.
    r = client.post(f"{API}/execution/plans/{plan['id']}/rerun", headers=admin,
                    json={"failed_only": True})
    assert r.status_code == 201, r.text
    again = all_pages(client, admin, r.json()["id"], limit=200)
    assert [x["test_case_id"] for x in again] == [x["test_case_id"] for x in bad]


def test_a_small_plan_shows_every_run_inline(
    client: TestClient, admin: Headers, project: dict[str, Any], db: Database
) -> None:
    ids = seed_cases(db, project["id"], 3)
    r = client.post(f"{API}/execution/plans", headers=admin,
                    json={"project_id": project["id"], "test_case_ids": ids[::-1]})
    assert r.status_code == 201, r.text
    detail = client.get(f"{API}/execution/plans/{r.json()['id']}", headers=admin).json()
    assert [x["test_case_id"] for x in detail["runs"]] == ids[::-1]  # the order asked
    assert detail["total"] == 3 and detail["runs_next_cursor"] is None


def test_bad_input_writes_nothing(
    client: TestClient, admin: Headers, project: dict[str, Any], db: Database
) -> None:
    ids = seed_cases(db, project["id"], 20)
    before = counts(db)
    for body in (
        {"project_id": project["id"], "test_case_ids": [*ids, "nope"]},
        {"project_id": project["id"], "selection": {"tags": ["none-such"]}},
        {"project_id": project["id"], "selection": {"status": ["archived"]}},
        {"project_id": "missing", "selection": {}},
    ):
        r = client.post(f"{API}/execution/plans", headers=admin, json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
        r = client.post(f"{API}/execution/start", headers=admin, json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
    assert counts(db) == before


@pytest.mark.parametrize("chunk", [7, 5_000])
def test_a_failure_part_way_through_the_insert_leaves_no_plan(
    client: TestClient, project: dict[str, Any], db: Database, monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    ids = seed_cases(db, project["id"], 40)
    monkeypatch.setattr(plans, "INSERT_CHUNK", chunk)
    before = counts(db)
    # The last case does not exist: its run breaks the foreign key after others were
    # written (in earlier chunks when the chunk is small).
    cases = [plans.CaseRef(i, None, "t") for i in ids] + [plans.CaseRef(new_id(), None, "gone")]
    with pytest.raises(IntegrityError), db.session() as s:
        plans.create_plan(s, project_id=project["id"], cases=cases, priority=Priority.medium)
    assert counts(db) == before

    # The same plan without the missing case is written whole.
    with db.session() as s:
        plan = plans.create_plan(s, project_id=project["id"], cases=cases[:-1],
                                 priority=Priority.medium)
        plan_id = plan.id
    with db.session() as s:
        positions = s.scalars(
            select(TestRun.position).where(TestRun.plan_id == plan_id).order_by(TestRun.position)
        ).all()
    assert positions == list(range(40))
