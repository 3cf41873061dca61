"""What a person uses every day: a test case's history and last result, archived cases
hidden unless asked for, tag prefixes, project counts, and passwords."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from assay.db.base import utcnow
from assay.db.engine import Database
from assay.db.models import TestRun
from tests.api.conftest import API
from tests.conftest import login

Headers = dict[str, str]


def _plan(client: TestClient, admin: Headers, project: dict[str, Any], ids: list[str],
          name: str = "") -> dict[str, Any]:
    r = client.post(f"{API}/execution/plans", headers=admin,
                    json={"project_id": project["id"], "test_case_ids": ids, "name": name})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _finish(db: Database, plan_id: str, test_id: str, status: str, duration: float,
            ago_s: float, failure: str | None = None) -> None:
    """What the orchestrator writes when a run ends (no orchestrator runs here)."""
    with db.session() as s:
        s.execute(
            update(TestRun)
            .where(TestRun.plan_id == plan_id, TestRun.test_case_id == test_id)
            .values(status=status, duration_s=duration, failure=failure,
                    finished_at=utcnow() - timedelta(seconds=ago_s))
        )


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_a_test_cases_runs_newest_first_with_plan_and_snapshot(
    client: TestClient, admin: Headers, db: Database, project: dict[str, Any],
    new_test: Callable[..., dict[str, Any]],
) -> None:
    case = new_test(title="adds")
    other = new_test(title="other")
    first = _plan(client, admin, project, [case["id"], other["id"]], name="nightly")
    _finish(db, first["id"], case["id"], "failed", 0.5, 60, failure="AssertionError: 1 != 2")
    second = _plan(client, admin, project, [case["id"]], name="after fix")
    _finish(db, second["id"], case["id"], "passed", 0.25, 10)
    third = _plan(client, admin, project, [case["id"]])  # still queued

    r = client.get(f"{API}/tests/{case['id']}/runs", headers=admin)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 3
    assert [run["plan_id"] for run in page["items"]] == [third["id"], second["id"], first["id"]]
    queued, passed, failed = page["items"]
    assert queued["status"] == "queued" and queued["finished_at"] is None
    assert passed["status"] == "passed" and passed["duration_s"] == 0.25
    assert passed["plan_name"] == "after fix" and passed["plan_status"] == "queued"
    assert failed["failure"] == "AssertionError: 1 != 2" and failed["plan_name"] == "nightly"
    assert "snapshot_hash" in failed and "plan_trigger" in failed

    # Paged with the project's standard cursor.
    r = client.get(f"{API}/tests/{case['id']}/runs", headers=admin, params={"limit": 2})
    assert [run["id"] for run in r.json()["items"]] == [queued["id"], passed["id"]]
    cursor = r.json()["next_cursor"]
    r = client.get(f"{API}/tests/{case['id']}/runs", headers=admin,
                   params={"limit": 2, "cursor": cursor})
    assert [run["id"] for run in r.json()["items"]] == [failed["id"]]
    assert r.json()["next_cursor"] is None

    # The last result: the newest finished one, on the case and in the list.
    one = client.get(f"{API}/tests/{case['id']}", headers=admin).json()
    assert one["last_run"]["status"] == "passed" and one["last_run"]["plan_id"] == second["id"]
    listed = {t["id"]: t for t in client.get(f"{API}/tests", headers=admin,
                                              params={"project_id": project["id"]}).json()["items"]}
    assert listed[case["id"]]["last_run"]["duration_s"] == 0.25
    assert listed[other["id"]]["last_run"] is None  # queued only: no result yet

    assert client.get(f"{API}/tests/nope/runs", headers=admin).status_code == 404


def test_the_list_reads_last_results_in_a_fixed_number_of_queries(
    client: TestClient, admin: Headers, db: Database, project: dict[str, Any],
    new_test: Callable[..., dict[str, Any]],
) -> None:
    def queries(n: int) -> int:
        ids = [new_test(title=f"case {i}")["id"] for i in range(n)]
        plan = _plan(client, admin, project, ids)
        for i, test_id in enumerate(ids):
            _finish(db, plan["id"], test_id, "passed", 0.1, i)
        with counting(db) as statements:
            r = client.get(f"{API}/tests", headers=admin, params={"project_id": project["id"]})
        assert r.status_code == 200
        assert all(t["last_run"] for t in r.json()["items"])
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    assert queries(2) == queries(6)


def test_archived_cases_are_hidden_unless_asked_for(
    client: TestClient, admin: Headers, project: dict[str, Any],
    new_test: Callable[..., dict[str, Any]],
) -> None:
    new_test(title="kept")
    new_test(title="gone", status="archived")

    def titles(**params: Any) -> set[str]:
        r = client.get(f"{API}/tests", headers=admin,
                       params={"project_id": project["id"], **params})
        assert r.status_code == 200, r.text
        return {t["title"] for t in r.json()["items"]}

    assert titles() == {"kept"}
    assert titles(include_archived="true") == {"kept", "gone"}
    assert titles(status="archived") == {"gone"}
    shown = client.get(f"{API}/projects/{project['id']}", headers=admin).json()
    assert (shown["test_count"], shown["archived_count"]) == (1, 1)
    listed = client.get(f"{API}/projects", headers=admin).json()["items"][0]
    assert (listed["test_count"], listed["archived_count"]) == (1, 1)


def test_a_trailing_star_matches_tags_by_prefix(
    client: TestClient, admin: Headers, project: dict[str, Any],
    new_test: Callable[..., dict[str, Any]],
) -> None:
    new_test(title="plain", tags=["api"])
    new_test(title="versioned", tags=["api:v2"])
    new_test(title="apis", tags=["apis"])
    new_test(title="underscore", tags=["a_pi"])  # `_` is not a wildcard
    new_test(title="other", tags=["ui"])

    def titles(*tags: str) -> set[str]:
        r = client.get(f"{API}/tests", headers=admin,
                       params={"project_id": project["id"], "tag": list(tags)})
        assert r.status_code == 200, r.text
        return {t["title"] for t in r.json()["items"]}

    assert titles("api") == {"plain"}
    assert titles("api*") == {"plain", "versioned", "apis"}
    assert titles("api:*") == {"versioned"}
    assert titles("a_*") == {"underscore"}
    assert titles("api*", "api:*") == {"versioned"}


def test_change_your_own_password(client: TestClient, as_role: Callable[[str], Headers]) -> None:
    old = as_role("editor")
    r = client.post(f"{API}/auth/password", headers=old,
                    json={"current_password": "wrong-password", "new_password": "a-new-one-9"})
    assert r.status_code == 403
    assert "current password is wrong" in r.json()["detail"]

    r = client.post(f"{API}/auth/password", headers=old,
                    json={"current_password": "editor-password-1", "new_password": "short"})
    assert r.status_code == 422
    assert "new_password" in str(r.json()["detail"])

    r = client.post(f"{API}/auth/password", headers=old, json={
        "current_password": "editor-password-1", "new_password": "editor-password-1"})
    assert r.status_code == 422
    assert "same as the current one" in r.json()["detail"][0]["msg"]

    r = client.post(f"{API}/auth/password", headers=old, json={
        "current_password": "editor-password-1", "new_password": "a-new-one-9"})
    assert r.status_code == 200, r.text
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get(f"{API}/auth/me", headers=fresh).json()["username"] == "editor"
    # The new password logs in, the old one does not.
    assert login(client, "editor", "a-new-one-9")
    assert client.post(f"{API}/auth/login", json={
        "username": "editor", "password": "editor-password-1"}).status_code == 401


def test_an_admin_resets_a_password_given_or_generated(
    client: TestClient, admin: Headers, as_role: Callable[[str], Headers]
) -> None:
    as_role("viewer")
    viewer = next(u for u in client.get(f"{API}/users", headers=admin).json()
                  if u["username"] == "viewer")
    r = client.post(f"{API}/users/{viewer['id']}/password", headers=admin, json={})
    assert r.status_code == 200, r.text
    generated = r.json()["password"]
    assert generated and len(generated) >= 12 and r.json()["user"]["username"] == "viewer"
    assert login(client, "viewer", generated)

    r = client.post(f"{API}/users/{viewer['id']}/password", headers=admin,
                    json={"password": "chosen-password-7"})
    assert r.status_code == 200 and r.json()["password"] is None
    assert login(client, "viewer", "chosen-password-7")

    r = client.post(f"{API}/users/{viewer['id']}/password", headers=admin,
                    json={"password": "short"})
    assert r.status_code == 422
    assert client.post(f"{API}/users/nobody/password", headers=admin,
                       json={}).status_code == 404
    assert client.post(f"{API}/users/{viewer['id']}/password", headers=as_role("editor"),
                       json={}).status_code == 403


def test_a_new_password_ends_the_sessions_from_before(
    client: TestClient, admin: Headers, db: Database
) -> None:
    r = client.post(f"{API}/users", headers=admin,
                    json={"username": "olga", "password": "olga-password-1", "role": "editor"})
    olga = r.json()
    session = login(client, "olga", "olga-password-1")
    # A session from a moment ago (a token's `iat` has whole seconds).
    from assay.db.models import User
    with db.session() as s:
        user = s.scalars(select(User).where(User.id == olga["id"])).one()
        assert user.password_changed_at is None
    r = client.post(f"{API}/users/{olga['id']}/password", headers=admin,
                    json={"password": "olga-password-2"})
    assert r.status_code == 200
    with db.session() as s:
        user = s.scalars(select(User).where(User.id == olga["id"])).one()
        user.password_changed_at = utcnow() + timedelta(seconds=2)  # later than the login
    assert client.get(f"{API}/auth/me", headers=session).status_code == 401
