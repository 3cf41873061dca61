"""The OpenAPI schema is the contract: every operation says all it can answer.

What the fuzzing (test_schemathesis) finds by trying, checked here on the schema
itself and on a few answers: each operation has a typed success answer and
declares its error answers, all in one body shape; one handler maps each kind of
`AssayError` to its status code; and an undeclared method answers 405 with the
methods the schema declares for that path.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.api.app import create_app
from assay.config import Settings
from assay.errors import (
    AssayError,
    Conflict,
    Forbidden,
    InvalidInput,
    Misconfigured,
    NotFound,
    Throttled,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from tests.api.conftest import API

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
pytestmark = sqlite_only  # the schema and the handler, not the database

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


def _operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_has_a_typed_answer_and_declares_its_errors(
    client: TestClient,
) -> None:
    openapi = client.get("/openapi.json").json()
    operations = _operations(openapi)
    assert len(operations) >= 40
    for method, path, operation in operations:
        where = f"{method} {path}"
        responses = operation["responses"]
        [success] = [code for code in responses if code.startswith("2")]
        if success != "204":
            content = responses[success].get("content")
            assert content, where
            for media, body in content.items():
                assert body.get("schema") not in (None, {}), (where, media)  # typed
        if operation.get("security"):
            assert "401" in responses, where
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(responses), where
        for code, answer in responses.items():
            if code[0] in "45":
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                assert schema == ERROR, (where, code)


def test_exclusive_fields_are_a_one_of_in_the_schema(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name, fields in (("TestCaseCreate", {"code", "reference"}),
                         ("PlanCreate", {"test_case_ids", "selection"})):
        branches = schemas[name]["oneOf"]
        assert {tuple(b["required"]) for b in branches} == {(f,) for f in fields}, name


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        (NotFound("project 'x' does not exist"), 404, "project 'x' does not exist"),
        (Conflict("taken"), 409, "taken"),
        (InvalidInput("fix it"), 422, "fix it"),
        (TooLarge("too big"), 413, "too big"),
        (Unauthenticated("who are you"), 401, "who are you"),
        (Forbidden("not you"), 403, "not you"),
        (Throttled("slow down", 7), 429, "slow down"),
        (Unavailable("no sandbox"), 503, "no sandbox"),
        (Misconfigured("fix the server"), 500, "fix the server"),
    ],
)
def test_one_handler_maps_each_kind_to_its_status(
    settings: Settings, error: AssayError, status: int, detail: str
) -> None:
    app = create_app(settings, orchestrator=False)

    def failing() -> None:
        raise error

    app.add_api_route(f"{API}/failing-on-purpose", failing)
    with TestClient(app) as c:
        r = c.get(f"{API}/failing-on-purpose")
    assert (r.status_code, r.json()) == (status, {"detail": detail})
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
    if status == 429:
        assert r.headers["retry-after"] == "7"


def test_a_module_error_answers_as_its_kind(settings: Settings) -> None:
    """Errors of other modules are kinds: a field error is located, a duplicate is a 409."""
    from assay.services.plans import PlanError
    from assay.services.users import UserExists

    app = create_app(settings, orchestrator=False)

    def invalid() -> None:
        raise PlanError("selection", "matches nothing")

    def duplicate() -> None:
        raise UserExists("username", "user 'a' already exists")

    app.add_api_route(f"{API}/invalid-on-purpose", invalid)
    app.add_api_route(f"{API}/duplicate-on-purpose", duplicate)
    with TestClient(app) as c:
        r = c.get(f"{API}/invalid-on-purpose")
        assert r.status_code == 422
        assert r.json()["detail"] == [
            {"loc": ["body", "selection"], "msg": "matches nothing", "type": "value_error"}
        ]
        r = c.get(f"{API}/duplicate-on-purpose")
        assert (r.status_code, r.json()) == (409, {"detail": "user 'a' already exists"})


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", f"{API}/projects", "GET, POST"),
        ("PUT", f"{API}/projects/some-id", "DELETE, GET, PATCH"),
        # A concrete path wins over a template that also matches it, as in the schema.
        ("GET", f"{API}/tests/bulk", "POST"),
        ("DELETE", f"{API}/tests/bulk", "POST"),
        ("GET", f"{API}/tests/generate", "POST"),
        ("POST", "/metrics", "GET"),
    ],
)
def test_an_undeclared_method_lists_exactly_the_declared_ones(
    client: TestClient, admin: dict[str, str], method: str, path: str, allow: str
) -> None:
    r = client.request(method, path, headers=admin)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allow
    assert r.json() == {"detail": "Method Not Allowed"}
