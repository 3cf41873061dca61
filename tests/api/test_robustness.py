"""Bad input in general: body limits, unknown routes, and answers that mean what they say."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from starlette.types import Message, Receive, Scope, Send

from assay.api.app import create_app
from assay.config import Settings
from assay.db.engine import Database
from assay.db.models import TestCase
from tests.api.conftest import API
from tests.conftest import ADMIN_PASSWORD, login

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def small_body_client(settings: Settings) -> Iterator[TestClient]:
    small = settings.model_copy(update={"max_body_bytes": 2000})
    with TestClient(create_app(small, orchestrator=False)) as c:
        yield c


@sqlite_only
def test_bodies_over_the_limit_answer_413(small_body_client: TestClient, project_dir: Path) -> None:
    c = small_body_client
    admin = login(c, "admin", ADMIN_PASSWORD)
    project = c.post(
        f"{API}/projects",
        headers=admin,
        json={"name": "p", "source": {"type": "path", "path": str(project_dir)}},
    ).json()
    big = {
        "project_id": project["id"],
        "title": "big",
        "code": "def test_a():\n    pass\n" + "# padding\n" * 300,
    }
    r = c.post(f"{API}/tests", headers=admin, json=big)
    assert r.status_code == 413
    assert "2000 bytes" in r.json()["detail"]

    # Without a Content-Length (chunked upload) the limit holds as well.
    def chunks() -> Iterator[bytes]:
        import json

        data = json.dumps(big).encode()
        for i in range(0, len(data), 500):
            yield data[i : i + 500]

    r = c.post(
        f"{API}/tests", headers={**admin, "Content-Type": "application/json"}, content=chunks()
    )
    assert r.status_code == 413, r.text
    assert c.get(f"{API}/tests", headers=admin).json()["total"] == 0
    # Just under the limit still works.
    r = c.post(f"{API}/tests", headers=admin, json={**big, "code": "def test_a():\n    pass\n"})
    assert r.status_code == 201


@sqlite_only
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", [f"{API}/nope", f"{API}/projects/x/nope", "/api/v2/projects"])
def test_unknown_api_paths_are_json_404_whatever_the_method(
    client: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    """The dashboard's GET catch-all used to make these 405 for every method but GET."""
    r = client.request(method, path, headers=admin)
    assert r.status_code == 404, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": "Not Found"}


@sqlite_only
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{API}/auth/login"),  # POST only: was a 404 from the dashboard's catch-all
        ("PUT", f"{API}/projects"),
        ("POST", f"{API}/projects/some-id"),
        ("DELETE", f"{API}/execution/plans"),
    ],
)
def test_known_api_paths_with_another_method_are_405(
    client: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    r = client.request(method, path, headers=admin)
    assert r.status_code == 405, r.text
    assert r.json() == {"detail": "Method Not Allowed"}
    assert r.headers["allow"]


@sqlite_only
def test_the_dashboard_still_serves_its_own_paths(client: TestClient) -> None:
    for path in ("/", "/execution/some-plan", "/apidocs"):
        r = client.get(path)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"], path
    assert client.post("/execution/some-plan").status_code == 405  # non-API: may stay 405
    assert client.get("/docs").status_code == 200  # the API's own docs, not the dashboard
    assert client.get("/docs-not-here").json() == {"detail": "Not Found"}


@sqlite_only
def test_an_unexpected_exception_answers_json_500_and_is_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """No route maps it: the app-wide handler answers JSON, the log keeps the traceback."""
    app = create_app(settings, orchestrator=False)

    def broken() -> None:
        raise LookupError("a bug, not the client's fault")

    app.add_api_route(f"{API}/broken-on-purpose", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        caplog.set_level(logging.ERROR, logger="assay.server")
        r = c.get(f"{API}/broken-on-purpose")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": "internal error: LookupError; see the server log"}
    logged = [rec for rec in caplog.records if rec.name == "assay.server" and rec.exc_info]
    assert logged and "GET /api/v1/broken-on-purpose" in logged[0].getMessage()
    assert logged[0].exc_info is not None and logged[0].exc_info[0] is LookupError


def test_a_created_row_is_committed_before_the_answer(
    settings: Settings, project_dir: Path
) -> None:
    """201 means durable: when the response starts, another connection sees the row."""
    seen_at_response: list[int] = []
    app = create_app(settings, orchestrator=False)
    probe = create_engine(settings.resolved_database_url)

    async def watching(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_look(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and scope["method"] == "POST"
                and scope["path"] == f"{API}/tests"
            ):
                with probe.connect() as conn:
                    seen_at_response.append(
                        conn.scalar(select(func.count()).select_from(TestCase.__table__)) or 0
                    )
            await send(message)

        await app(scope, receive, send_and_look)

    try:
        with TestClient(watching) as c:
            admin = login(c, "admin", ADMIN_PASSWORD)
            project: dict[str, Any] = c.post(
                f"{API}/projects",
                headers=admin,
                json={"name": "p", "source": {"type": "path", "path": str(project_dir)}},
            ).json()
            r = c.post(
                f"{API}/tests",
                headers=admin,
                json={"project_id": project["id"], "title": "t", "code": "def test_a(): pass\n"},
            )
            assert r.status_code == 201
    finally:
        probe.dispose()
    assert seen_at_response == [1]


def test_nul_characters_are_refused_not_crashed_on(
    client: TestClient, admin: dict[str, str], project_dir: Path
) -> None:
    """PostgreSQL cannot store NUL in text: a 4xx naming the problem, never a 500."""
    r = client.post(
        f"{API}/projects",
        headers=admin,
        json={"name": "a\x00b", "source": {"type": "path", "path": str(project_dir)}},
    )
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        assert "NUL" in r.json()["detail"]
    r = client.get(f"{API}/tests", headers=admin, params={"q": "a\x00"})
    assert r.status_code in (200, 422), r.text
    # The failed transaction was rolled back: the next request is served normally.
    assert client.get(f"{API}/projects", headers=admin).status_code == 200


@sqlite_only
def test_reads_answer_while_a_long_write_holds_the_database(
    client: TestClient, admin: dict[str, str], project: dict[str, Any], db: Database
) -> None:
    """On SQLite a write holds the database's one write lock (a suite import of 100,000
    tests, for seconds). GETs, with an API token too, read their snapshot meanwhile;
    before, every request waited for the lock and failed after the busy timeout."""
    token = client.post(f"{API}/tokens", headers=admin, json={"name": "ci"}).json()["token"]
    by_token = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/projects", headers=by_token).status_code == 200  # its last use
    with db.session() as writer:  # BEGIN IMMEDIATE: the write lock, until this block ends
        writer.add(TestCase(project_id=project["id"], title="being written",
                            reference="tests/test_x.py::test_new"))
        writer.flush()
        for headers in (admin, by_token):
            r = client.get(f"{API}/tests", headers=headers,
                           params={"project_id": project["id"]})
            assert r.status_code == 200, r.text
            assert "being written" not in [t["title"] for t in r.json()["items"]]
    r = client.get(f"{API}/tests", headers=admin, params={"project_id": project["id"]})
    assert "being written" in [t["title"] for t in r.json()["items"]]
