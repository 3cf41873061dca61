"""Projects: sources validated, unique names, guarded deletes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from assay.db.engine import Database
from assay.db.models import Project, TestCase, TestCaseTag
from tests.api.conftest import API

Headers = dict[str, str]
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _create(client: TestClient, headers: Headers, name: str, source: dict[str, Any]) -> Any:
    return client.post(f"{API}/projects", headers=headers, json={"name": name, "source": source})


def test_project_crud(client: TestClient, admin: Headers, project_dir: Path) -> None:
    r = client.post(
        f"{API}/projects",
        headers=admin,
        json={
            "name": "Calc",
            "description": "a calculator",
            "source": {"type": "path", "path": str(project_dir)},
        },
    )
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["source"] == {"type": "path", "path": str(project_dir.resolve())}
    assert p["description"] == "a calculator" and p["test_count"] == 0
    assert p["created_at"].endswith(("Z", "+00:00"))

    assert client.get(f"{API}/projects/{p['id']}", headers=admin).json()["name"] == "Calc"
    r = client.patch(
        f"{API}/projects/{p['id']}", headers=admin, json={"description": "changed", "name": "calc"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "changed" and r.json()["name"] == "calc"
    assert r.json()["updated_at"] >= p["updated_at"]

    listed = client.get(f"{API}/projects", headers=admin).json()
    assert listed["total"] == 1 and [x["id"] for x in listed["items"]] == [p["id"]]

    assert client.delete(f"{API}/projects/{p['id']}", headers=admin).status_code == 204
    assert client.get(f"{API}/projects/{p['id']}", headers=admin).status_code == 404
    assert client.delete(f"{API}/projects/{p['id']}", headers=admin).status_code == 404
    assert client.patch(f"{API}/projects/{p['id']}", headers=admin, json={}).status_code == 404


@sqlite_only
def test_path_source_is_validated(client: TestClient, admin: Headers, tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    bad = [
        {"type": "path", "path": str(tmp_path / "missing")},
        {"type": "path", "path": "relative/dir"},
        {"type": "path", "path": str(a_file)},
        {"type": "path", "path": "~no-such-user-xyz/project"},
        {"type": "path", "path": ""},
        {"type": "path"},
        {"type": "svn", "url": "svn://x"},
        {"type": "git", "url": "not a url"},
        {"type": "git", "url": str(tmp_path / "no-repo-here")},
    ]
    for source in bad:
        r = _create(client, admin, "p", source)
        assert r.status_code == 422, (source, r.text)
        assert "source" in r.json()["detail"][0]["loc"], r.text
    assert client.get(f"{API}/projects", headers=admin).json()["total"] == 0


@sqlite_only
def test_git_sources(client: TestClient, admin: Headers, tmp_path: Path) -> None:
    r = _create(
        client,
        admin,
        "remote",
        {"type": "git", "url": " https://example.com/x.git ", "ref": "main"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["source"] == {"type": "git", "url": "https://example.com/x.git", "ref": "main"}
    r = _create(client, admin, "ssh", {"type": "git", "url": "git@example.com:org/x.git"})
    assert r.status_code == 201 and r.json()["source"]["ref"] is None

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    r = _create(client, admin, "local", {"type": "git", "url": str(repo)})
    assert r.status_code == 201, r.text

    # A directory that is no git repository would only fail later, when a plan clones it.
    plain = tmp_path / "plain"
    plain.mkdir()
    r = _create(client, admin, "plain", {"type": "git", "url": str(plain)})
    assert r.status_code == 422, r.text
    assert "git" in r.json()["detail"][0]["msg"]


def test_project_names_are_unique_regardless_of_case(
    client: TestClient, admin: Headers, project_dir: Path
) -> None:
    src = {"type": "path", "path": str(project_dir)}
    assert _create(client, admin, "Shop", src).status_code == 201
    r = _create(client, admin, "shop", src)
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    other = _create(client, admin, "Other", src).json()
    r = client.patch(f"{API}/projects/{other['id']}", headers=admin, json={"name": "SHOP"})
    assert r.status_code == 409
    assert client.get(f"{API}/projects/{other['id']}", headers=admin).json()["name"] == "Other"


@sqlite_only
def test_project_input_is_validated(client: TestClient, admin: Headers, project_dir: Path) -> None:
    src = {"type": "path", "path": str(project_dir)}
    for body, field in [
        ({"source": src}, "name"),
        ({"name": "", "source": src}, "name"),
        ({"name": "x" * 101, "source": src}, "name"),
        ({"name": "x"}, "source"),
        ({"name": "x", "source": src, "description": 5}, "description"),
    ]:
        r = client.post(f"{API}/projects", headers=admin, json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"][1] == field, r.text
    r = client.post(
        f"{API}/projects", headers={**admin, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert r.status_code == 422
    p = _create(client, admin, "ok", src).json()
    r = client.patch(
        f"{API}/projects/{p['id']}", headers=admin, json={"source": {"type": "path", "path": "rel"}}
    )
    assert r.status_code == 422 and "source" in r.json()["detail"][0]["loc"]
    for q in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"cursor": "%%%"}, {"cursor": "WzFd"}):
        assert client.get(f"{API}/projects", headers=admin, params=q).status_code == 422, q


def test_delete_with_test_cases_needs_force_and_then_cascades(
    client: TestClient,
    admin: Headers,
    project: dict[str, Any],
    new_test: Callable[..., dict[str, Any]],
    db: Database,
) -> None:
    new_test(tags=["smoke", "api"])
    new_test(reference="tests/test_calc.py::test_add")
    assert client.get(f"{API}/projects/{project['id']}", headers=admin).json()["test_count"] == 2

    r = client.delete(f"{API}/projects/{project['id']}", headers=admin)
    assert r.status_code == 409
    assert "2 test case(s)" in r.json()["detail"] and "force=true" in r.json()["detail"]
    assert client.get(f"{API}/tests", headers=admin).json()["total"] == 2

    r = client.delete(f"{API}/projects/{project['id']}", headers=admin, params={"force": "true"})
    assert r.status_code == 204
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Project)) == 0
        assert s.scalar(select(func.count()).select_from(TestCase)) == 0
        assert s.scalar(select(func.count()).select_from(TestCaseTag)) == 0


def test_project_list_pages(client: TestClient, admin: Headers, project_dir: Path) -> None:
    src = {"type": "path", "path": str(project_dir)}
    names = [f"proj-{i:02d}" for i in range(7)]
    for name in reversed(names):
        assert _create(client, admin, name, src).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{API}/projects", headers=admin, params=params).json()
        assert page["total"] == 7
        seen += [p["name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == names
    r = client.get(
        f"{API}/projects", headers=admin, params={"q": "PROJ-0", "limit": 2, "offset": 5}
    )
    assert [p["name"] for p in r.json()["items"]] == names[5:]
