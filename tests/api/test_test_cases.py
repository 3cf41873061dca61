"""Test cases: checked code, optimistic concurrency, filters, pages, bulk edits."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from assay.db.engine import Database
from assay.db.models import TestCase, TestCaseTag
from tests.api.conftest import API, PASSING

Headers = dict[str, str]
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
NewTest = Callable[..., dict[str, Any]]


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_create_read_update_delete(
    client: TestClient, admin: Headers, project: dict[str, Any], db: Database
) -> None:
    r = client.post(
        f"{API}/tests",
        headers=admin,
        json={
            "project_id": project["id"],
            "title": "adds",
            "description": "two numbers",
            "code": PASSING,
            "priority": "high",
            "tags": ["smoke", " api ", "smoke"],
            "status": "draft",
            "origin": "imported",
            "target": "calc:add",
        },
    )
    assert r.status_code == 201, r.text
    t = r.json()
    me = client.get(f"{API}/auth/me", headers=admin).json()
    assert t["tags"] == ["api", "smoke"] and t["priority"] == "high" and t["version"] == 1
    assert (t["status"], t["origin"], t["target"]) == ("draft", "imported", "calc:add")
    assert t["created_by"] == me["id"] and t["reference"] is None
    assert client.get(f"{API}/tests/{t['id']}", headers=admin).json() == t

    r = client.patch(
        f"{API}/tests/{t['id']}",
        headers=admin,
        json={
            "version": 1,
            "title": "adds ints",
            "tags": ["unit"],
            "priority": "critical",
            "status": "active",
        },
    )
    assert r.status_code == 200, r.text
    u = r.json()
    assert (u["title"], u["tags"], u["priority"], u["status"], u["version"]) == (
        "adds ints",
        ["unit"],
        "critical",
        "active",
        2,
    )
    assert u["updated_at"] > t["updated_at"]
    with db.session() as s:
        assert s.scalars(select(TestCaseTag.tag)).all() == ["unit"]

    # Switch from own code to a reference into the project's tree.
    r = client.patch(
        f"{API}/tests/{t['id']}",
        headers=admin,
        json={"version": 2, "code": None, "reference": "tests/test_calc.py::test_add"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["code"] is None and r.json()["reference"] == "tests/test_calc.py::test_add"

    assert client.delete(f"{API}/tests/{t['id']}", headers=admin).status_code == 204
    assert client.get(f"{API}/tests/{t['id']}", headers=admin).status_code == 404
    assert client.delete(f"{API}/tests/{t['id']}", headers=admin).status_code == 404
    assert _count(db, TestCaseTag) == 0


@sqlite_only
def test_code_is_checked_on_write(
    client: TestClient, admin: Headers, project: dict[str, Any], new_test: NewTest, db: Database
) -> None:
    base = {"project_id": project["id"], "title": "t", "tags": ["x", "y"]}
    r = client.post(
        f"{API}/tests",
        headers=admin,
        json={**base, "code": "def test_a():\n    assert (1 +\n\ndef test_b(): pass\n"},
    )
    assert r.status_code == 422
    err = r.json()["detail"][0]
    assert err["loc"] == ["body", "code"]
    assert err["ctx"]["line"] == 2 and isinstance(err["ctx"]["column"], int)
    assert "line 2" in err["msg"]

    r = client.post(
        f"{API}/tests",
        headers=admin,
        json={**base, "code": "x = 1\n\ndef helper():\n    return 2\n"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "code"]
    assert "no test" in r.json()["detail"][0]["msg"]

    # A class of tests counts; so does an async test.
    ok = client.post(
        f"{API}/tests",
        headers=admin,
        json={**base, "code": "class TestX:\n    def test_a(self):\n        pass\n"},
    )
    assert ok.status_code == 201, ok.text
    ok2 = client.post(
        f"{API}/tests", headers=admin, json={**base, "code": "async def test_a():\n    pass\n"}
    )
    assert ok2.status_code == 201, ok2.text

    # PATCH checks code too, and leaves the test case as it was.
    t = ok.json()
    r = client.patch(
        f"{API}/tests/{t['id']}",
        headers=admin,
        json={"version": 1, "code": "def test_(:\n", "title": "new"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["ctx"]["line"] == 1
    again = client.get(f"{API}/tests/{t['id']}", headers=admin).json()
    assert again["title"] == "t" and again["version"] == 1

    # Failed creates leave no test case and no tag rows behind.
    assert _count(db, TestCase) == 2
    assert _count(db, TestCaseTag) == 4


@sqlite_only
def test_code_and_reference_are_exclusive(
    client: TestClient, admin: Headers, project: dict[str, Any], new_test: NewTest
) -> None:
    base = {"project_id": project["id"], "title": "t"}
    for extra in ({}, {"code": PASSING, "reference": "tests/test_calc.py::test_add"}):
        r = client.post(f"{API}/tests", headers=admin, json={**base, **extra})
        assert r.status_code == 422, extra
        assert (
            "code" in r.json()["detail"][0]["msg"] and "reference" in r.json()["detail"][0]["msg"]
        )
    t = new_test()
    r = client.patch(
        f"{API}/tests/{t['id']}",
        headers=admin,
        json={"version": 1, "reference": "tests/test_calc.py::test_add"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "code"]
    r = client.patch(f"{API}/tests/{t['id']}", headers=admin, json={"version": 1, "code": None})
    assert r.status_code == 422
    assert client.get(f"{API}/tests/{t['id']}", headers=admin).json()["code"] == PASSING


def test_bad_input_names_the_field(
    client: TestClient, admin: Headers, project: dict[str, Any], new_test: NewTest, db: Database
) -> None:
    base = {"project_id": project["id"], "title": "t", "code": PASSING}
    cases = [
        ({"priority": "urgent"}, "priority"),
        ({"status": "done"}, "status"),
        ({"origin": "robot"}, "origin"),
        ({"tags": "smoke"}, "tags"),
        ({"tags": ["has space"]}, "tags"),
        ({"title": ""}, "title"),
        ({"title": 5}, "title"),
        ({"target": "no colon"}, "target"),
        ({"project_id": None}, "project_id"),
    ]
    for extra, field in cases:
        r = client.post(f"{API}/tests", headers=admin, json={**base, **extra})
        assert r.status_code == 422, extra
        assert r.json()["detail"][0]["loc"][1] == field, r.text
    r = client.post(f"{API}/tests", headers=admin, json={**base, "project_id": "nope"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert _count(db, TestCase) == 0 and _count(db, TestCaseTag) == 0

    t = new_test()
    for body, field in [
        ({"title": "x"}, "version"),
        ({"version": 0}, "version"),
        ({"version": 1, "priority": "urgent"}, "priority"),
        ({"version": 1, "title": None}, "title"),
        ({"version": 1, "description": None}, "description"),
        ({"version": 1, "status": None}, "status"),
    ]:
        r = client.patch(f"{API}/tests/{t['id']}", headers=admin, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"][1] == field, r.text
    assert client.get(f"{API}/tests/{t['id']}", headers=admin).json()["version"] == 1
    assert client.patch(f"{API}/tests/nope", headers=admin, json={"version": 1}).status_code == 404
    assert client.get(f"{API}/tests/nope", headers=admin).status_code == 404
    for params in (
        {"status": "done"},
        {"priority": "x"},
        {"origin": "x"},
        {"sort": "code"},
        {"order": "up"},
        {"limit": 201},
        {"limit": 0},
        {"offset": -1},
        {"cursor": "bm90IGpzb24"},
    ):
        r = client.get(f"{API}/tests", headers=admin, params=params)
        assert r.status_code == 422, params
        detail = r.json()["detail"]
        if isinstance(detail, list):
            assert detail[0]["loc"][:2] == ["query", next(iter(params))], r.text
        else:
            assert "cursor" in detail


def test_stale_version_is_refused_and_no_update_is_lost(
    client: TestClient, as_role: Callable[[str], Headers], new_test: NewTest
) -> None:
    t = new_test(title="original", tags=["a"])
    alice, bob = as_role("editor"), as_role("admin")
    seen_by_alice = client.get(f"{API}/tests/{t['id']}", headers=alice).json()
    seen_by_bob = client.get(f"{API}/tests/{t['id']}", headers=bob).json()

    r = client.patch(
        f"{API}/tests/{t['id']}",
        headers=alice,
        json={"version": seen_by_alice["version"], "title": "alice's title"},
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    r = client.patch(
        f"{API}/tests/{t['id']}",
        headers=bob,
        json={"version": seen_by_bob["version"], "tags": ["bob"]},
    )
    assert r.status_code == 409
    assert "version 1" in r.json()["detail"] and "version 2" in r.json()["detail"]

    now = client.get(f"{API}/tests/{t['id']}", headers=bob).json()
    assert (now["title"], now["tags"], now["version"]) == ("alice's title", ["a"], 2)
    # Bob reloads and applies his change on top: both edits survive.
    r = client.patch(f"{API}/tests/{t['id']}", headers=bob, json={"version": 2, "tags": ["bob"]})
    assert r.status_code == 200
    assert (r.json()["title"], r.json()["tags"], r.json()["version"]) == (
        "alice's title",
        ["bob"],
        3,
    )


def _ids(page: dict[str, Any]) -> list[str]:
    return [t["id"] for t in page["items"]]


def test_list_filters(
    client: TestClient, admin: Headers, project: dict[str, Any], new_test: NewTest, tmp_path: Any
) -> None:
    a = new_test(title="Login works", tags=["smoke", "auth"], priority="critical")
    b = new_test(title="logout", description="Ends the SESSION", tags=["auth"], status="draft")
    c = new_test(
        title="cart",
        code="def test_cart():\n    assert 'Basket' != ''\n",
        origin="ai",
        priority="low",
        tags=["smoke"],
    )
    d = new_test(title="100% coverage", reference="tests/test_calc.py::test_add", status="archived")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = client.post(
        f"{API}/projects",
        headers=admin,
        json={"name": "other", "source": {"type": "path", "path": str(other_dir)}},
    ).json()
    e = client.post(
        f"{API}/tests",
        headers=admin,
        json={"project_id": other["id"], "title": "elsewhere", "code": PASSING, "tags": ["smoke"]},
    ).json()

    def ids(**params: Any) -> set[str]:
        r = client.get(f"{API}/tests", headers=admin, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return set(_ids(r.json()))

    assert ids() == {a["id"], b["id"], c["id"], e["id"]}  # archived ones hidden by default
    assert ids(include_archived="true") == {a["id"], b["id"], c["id"], d["id"], e["id"]}
    assert ids(project_id=other["id"]) == {e["id"]}
    assert ids(project_id=project["id"], tag="smoke") == {a["id"], c["id"]}
    assert ids(tag=["smoke", "auth"]) == {a["id"]}  # every tag given
    assert ids(tag=["auth", "missing"]) == set()
    assert ids(status="draft") == {b["id"]}
    assert ids(status=["draft", "archived"]) == {b["id"], d["id"]}
    assert ids(origin="ai") == {c["id"]}
    assert ids(priority=["critical", "low"]) == {a["id"], c["id"]}
    assert ids(q="LOG") == {a["id"], b["id"]}  # title, any case
    assert ids(q="session") == {b["id"]}  # description
    assert ids(q="basket") == {c["id"]}  # code
    assert ids(q="100%", include_archived="true") == {d["id"]}  # LIKE wildcards are literal
    assert ids(q="t%k") == set()  # would match "test_ok" as a pattern
    assert ids(project_id="unknown") == set()


def test_sorting_and_pagination(client: TestClient, admin: Headers, new_test: NewTest) -> None:
    priorities = ["low", "critical", "medium", "high", "critical", "low", "medium"]
    made = [new_test(title=f"t{i}", priority=p) for i, p in enumerate(priorities)]
    all_ids = {t["id"] for t in made}

    def get(**params: Any) -> dict[str, Any]:
        r = client.get(f"{API}/tests", headers=admin, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    # Newest first by default; title ascending on request.
    assert _ids(get()) == [t["id"] for t in reversed(made)]
    assert [t["title"] for t in get(sort="title", order="asc")["items"]] == [
        f"t{i}" for i in range(7)
    ]
    ranks = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    by_priority = [ranks[t["priority"]] for t in get(sort="priority", order="asc")["items"]]
    assert by_priority == sorted(by_priority)

    for sort in ("created_at", "updated_at", "title", "priority", "status"):
        for order in ("asc", "desc"):
            # Cursor pages: every row exactly once, in the same order as one big page.
            whole = _ids(get(sort=sort, order=order, limit=200))
            seen: list[str] = []
            page = get(sort=sort, order=order, limit=2)
            while True:
                assert page["total"] == 7
                seen += _ids(page)
                if not page["next_cursor"]:
                    break
                page = get(sort=sort, order=order, limit=2, cursor=page["next_cursor"])
            assert seen == whole and set(seen) == all_ids, (sort, order)

    # Offset pages.
    seen = []
    for offset in range(0, 8, 3):
        page = get(sort="priority", limit=3, offset=offset)
        assert page["total"] == 7 and page["offset"] == offset
        seen += _ids(page)
    assert sorted(seen) == sorted(all_ids) and len(seen) == 7
    assert get(limit=200)["limit"] == 200
    assert get(offset=50)["items"] == []


def test_a_cursor_walk_reports_the_total_its_first_page_counted(
    client: TestClient, admin: Headers, new_test: NewTest
) -> None:
    """The pages after the first answer the total they were handed instead of counting
    every matching row again; a fresh first page, or an offset page, counts afresh."""
    for i in range(3):
        new_test(title=f"walk {i}")

    def get(**params: Any) -> dict[str, Any]:
        r = client.get(f"{API}/tests", headers=admin, params={"q": "walk", **params})
        assert r.status_code == 200, r.text
        return r.json()

    first = get(limit=2)
    assert first["total"] == 3
    new_test(title="walk 3")
    second = get(limit=2, cursor=first["next_cursor"])
    assert second["total"] == 3
    assert len(second["items"]) == 1  # the page itself is read now: the new case is newest
    assert get(limit=2)["total"] == 4
    assert get(limit=2, offset=2)["total"] == 4

    cursor = json.loads(base64.urlsafe_b64decode(first["next_cursor"]))
    for total in (-1, "3", True, 1.5):
        forged = base64.urlsafe_b64encode(json.dumps([*cursor[:2], total]).encode()).decode()
        r = client.get(f"{API}/tests", headers=admin, params={"cursor": forged})
        assert r.status_code == 422 and "cursor" in r.json()["detail"], total


def test_bulk_update(client: TestClient, admin: Headers, new_test: NewTest, db: Database) -> None:
    a = new_test(tags=["old", "keep"])
    b = new_test(tags=["keep"])
    c = new_test(tags=["old"])
    r = client.post(
        f"{API}/tests/bulk",
        headers=admin,
        json={
            "ids": [a["id"], b["id"]],
            "status": "quarantined",
            "priority": "high",
            "add_tags": ["flaky"],
            "remove_tags": ["old"],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"updated": 2}
    for t, tags in ((a, ["flaky", "keep"]), (b, ["flaky", "keep"])):
        now = client.get(f"{API}/tests/{t['id']}", headers=admin).json()
        assert (now["status"], now["priority"], now["tags"], now["version"]) == (
            "quarantined",
            "high",
            tags,
            2,
        )
    untouched = client.get(f"{API}/tests/{c['id']}", headers=admin).json()
    assert (untouched["status"], untouched["tags"], untouched["version"]) == ("active", ["old"], 1)
    assert (
        client.get(
            f"{API}/tests", headers=admin, params={"status": "quarantined", "priority": "high"}
        ).json()["total"]
        == 2
    )

    # One unknown id: 404 and nothing changed (one transaction).
    r = client.post(
        f"{API}/tests/bulk", headers=admin, json={"ids": [c["id"], "nope"], "status": "archived"}
    )
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert client.get(f"{API}/tests/{c['id']}", headers=admin).json()["status"] == "active"
    for body, field in [
        ({"ids": []}, "ids"),
        ({"ids": [c["id"]], "status": "gone"}, "status"),
        ({"ids": [c["id"]], "add_tags": ["a b"]}, "add_tags"),
    ]:
        r = client.post(f"{API}/tests/bulk", headers=admin, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][1] == field, r.text
