"""Bad input in general: body limits, unknown routes, and answers that mean what they say."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from starlette.types import Message, Receive, Scope, Send

from assay.api.app import create_app
from assay.config import Settings
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
def test_unknown_api_routes_are_json_404(client: TestClient) -> None:
    r = client.get(f"{API}/nothing-here")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


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
