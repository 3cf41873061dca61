"""The permission matrix: viewer reads, editor writes, admin manages users.

Every cell is checked: no token and a bad token answer 401, a role below the
endpoint's answers 403, and every role at or above it gets the endpoint's success.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import API, PASSING

Headers = dict[str, str]
ROLES = ["viewer", "editor", "admin"]
RANK = {"viewer": 0, "editor": 1, "admin": 2}


@dataclass
class Cell:
    method: str
    path: str  # may name {project}, {test}, {user}, {fresh_project}, {fresh_test}
    needs: str | None  # lowest role allowed; None: no authentication at all
    ok: int
    body: Callable[[], Any] | None = None


_n = itertools.count()


def _matrix(project_dir: str) -> list[Cell]:
    src = {"type": "path", "path": project_dir}
    return [
        Cell("GET", "/health", None, 200),
        Cell("GET", "/auth/me", "viewer", 200),
        Cell("GET", "/tokens", "viewer", 200),
        Cell("POST", "/tokens", "viewer", 201, lambda: {"name": "t"}),
        Cell("GET", "/projects", "viewer", 200),
        Cell("GET", "/projects/{project}", "viewer", 200),
        Cell("POST", "/projects", "editor", 201, lambda: {"name": f"p{next(_n)}", "source": src}),
        Cell("PATCH", "/projects/{project}", "editor", 200, lambda: {"description": "d"}),
        Cell("DELETE", "/projects/{fresh_project}", "editor", 204),
        Cell("GET", "/tests", "viewer", 200),
        Cell("GET", "/tests/{test}", "viewer", 200),
        Cell("POST", "/tests", "editor", 201, None),  # body filled in below
        Cell("PATCH", "/tests/{fresh_test}", "editor", 200, lambda: {"version": 1, "title": "x"}),
        Cell("DELETE", "/tests/{fresh_test}", "editor", 204),
        Cell("POST", "/tests/bulk", "editor", 200, None),
        Cell("GET", "/users", "admin", 200),
        Cell(
            "POST",
            "/users",
            "admin",
            201,
            lambda: {"username": f"u{next(_n)}", "password": "password-123"},
        ),
        Cell("PATCH", "/users/{user}", "admin", 200, lambda: {"role": "viewer"}),
    ]


def test_permission_matrix(
    client: TestClient, as_role: Callable[[str], Headers], project_dir: Any
) -> None:
    admin = as_role("admin")
    callers: dict[str, Headers] = {
        "anonymous": {},
        "bad token": {"Authorization": "Bearer not-a-token"},
        "expired-looking api token": {"Authorization": "Bearer assay_unknown"},
        **{role: as_role(role) for role in ROLES},
    }

    def new_project() -> str:
        r = client.post(
            f"{API}/projects",
            headers=admin,
            json={"name": f"fresh{next(_n)}", "source": {"type": "path", "path": str(project_dir)}},
        )
        assert r.status_code == 201
        return str(r.json()["id"])

    project = new_project()

    def new_test() -> str:
        r = client.post(
            f"{API}/tests",
            headers=admin,
            json={"project_id": project, "title": "t", "code": PASSING},
        )
        assert r.status_code == 201
        return str(r.json()["id"])

    test = new_test()
    user = client.post(
        f"{API}/users", headers=admin, json={"username": "target", "password": "password-123"}
    ).json()["id"]
    checked = 0
    for cell in _matrix(str(project_dir)):
        for caller, headers in callers.items():
            path = cell.path.format(
                project=project,
                test=test,
                user=user,
                fresh_project=new_project() if "fresh_project" in cell.path else "",
                fresh_test=new_test() if "fresh_test" in cell.path else "",
            )
            body = cell.body() if cell.body else None
            if cell.path == "/tests" and cell.method == "POST":
                body = {"project_id": project, "title": "t", "code": PASSING}
            if cell.path == "/tests/bulk":
                body = {"ids": [test], "add_tags": ["x"]}
            r = client.request(cell.method, API + path, headers=headers, json=body)
            if cell.needs is None:
                expected = cell.ok
            elif caller not in RANK:
                expected = 401
            else:
                expected = cell.ok if RANK[caller] >= RANK[cell.needs] else 403
            assert r.status_code == expected, (cell.method, cell.path, caller, r.text)
            if expected == 401:
                assert r.headers["WWW-Authenticate"] == "Bearer"
            if expected in (401, 403):
                assert isinstance(r.json()["detail"], str) and r.json()["detail"]
            checked += 1
    assert checked == 18 * 6
