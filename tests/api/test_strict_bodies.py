"""Request bodies accept only their declared fields, with the types the schema says.

A misspelt field used to be dropped without a word: a plan "selected" by
`changed_sinse` ran every test, a PATCH with an unknown key answered 200 having
changed nothing. Each is now a 422 whose `loc` names the field.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from assay.db.engine import Database
from assay.db.models import ExecutionPlan, User
from tests.api.conftest import API

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _extra_field_errors(response: Any, *loc: str) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    return [
        item
        for item in response.json()["detail"]
        if item["type"] == "extra_forbidden" and item["loc"] == ["body", *loc]
    ]


def test_a_misspelt_selection_field_is_refused_not_ignored(
    client: TestClient,
    admin: dict[str, str],
    project: dict[str, Any],
    new_test: Any,
    db: Database,
) -> None:
    new_test(title="one")
    r = client.post(
        f"{API}/execution/plans",
        headers=admin,
        json={"project_id": project["id"], "selection": {"changed_sinse": "HEAD~1"}},
    )
    assert _extra_field_errors(r, "selection", "changed_sinse")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ExecutionPlan)) == 0


def test_a_patch_with_an_unknown_key_changes_nothing_and_says_so(
    client: TestClient, admin: dict[str, str], project: dict[str, Any]
) -> None:
    url = f"{API}/projects/{project['id']}"
    r = client.patch(url, headers=admin, json={"description": "new", "titel": "renamed"})
    assert _extra_field_errors(r, "titel")
    assert client.get(url, headers=admin).json()["description"] == project["description"]


def test_nested_source_fields_are_checked_too(
    client: TestClient, admin: dict[str, str], project: dict[str, Any]
) -> None:
    source = {**project["source"], "branch": "main"}  # git sources call it `ref`
    r = client.patch(f"{API}/projects/{project['id']}", headers=admin, json={"source": source})
    assert r.status_code == 422
    assert any(item["loc"][-1] == "branch" for item in r.json()["detail"])


@sqlite_only
def test_booleans_and_integers_are_not_coerced(
    client: TestClient, admin: dict[str, str], db: Database
) -> None:
    """`0` is not `false`, `"5"` is not 5: the schema says boolean and integer."""
    r = client.post(
        f"{API}/users", headers=admin,
        json={"username": "someone", "password": "password-1", "role": "viewer"},
    )
    user = r.json()
    r = client.patch(f"{API}/users/{user['id']}", headers=admin, json={"disabled": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "disabled"]
    with db.session() as s:
        assert s.get(User, user["id"]).disabled is False  # type: ignore[union-attr]
    r = client.post(f"{API}/tokens", headers=admin, json={"name": "ci", "expires_in_days": "30"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "expires_in_days"]
    # The real types still work.
    r = client.patch(f"{API}/users/{user['id']}", headers=admin, json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True


def _json_body_operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found.append((method, path, content["application/json"]["schema"]))
    return found


def _objects(schema: dict[str, Any], openapi: dict[str, Any], seen: set[str]) -> list[Any]:
    """Every object schema reachable from `schema` (through $ref, unions and arrays)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _objects(openapi["components"]["schemas"][name], openapi, seen)
    found: list[Any] = []
    if schema.get("type") == "object" or "properties" in schema:
        found.append(schema)
    children = list(schema.get("properties", {}).values())
    if "items" in schema:
        children.append(schema["items"])
    if "properties" not in schema:  # beside properties, they constrain this object itself
        for key in ("anyOf", "oneOf", "allOf"):
            children += schema.get(key, [])
    for child in children:
        found += _objects(child, openapi, seen)
    return found


@sqlite_only
def test_every_json_request_body_forbids_unknown_fields(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Checked on the schema (nested models too) and on the wire, for every operation."""
    openapi = client.get("/openapi.json").json()
    operations = _json_body_operations(openapi)
    assert len(operations) >= 12, operations
    for method, path, schema in operations:
        for obj in _objects(schema, openapi, set()):
            if "properties" not in obj:
                continue  # a mapping of the user's own keys (a project's env vars)
            assert obj.get("additionalProperties") is False, (method, path, obj.get("title"))
        url = re.sub(r"\{[^}]+\}", "some-id", path)
        r = client.request(method, url, headers=admin, json={"no_such_field": 1})
        assert _extra_field_errors(r, "no_such_field"), (method, path, r.text)
