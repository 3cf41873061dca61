"""Integer parameters have bounds a database can hold; cursors that do not decode are 422.

An offset past 2**63 used to reach the database: SQLite could not bind it (a 500),
PostgreSQL's BIGINT could not hold it. Both databases run every test here.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assay.api.pagination import MAX_OFFSET
from tests.api.conftest import API

LISTS = ["/projects", "/tests", "/generations", "/execution/plans"]
BIGINT_MAX = 2**63 - 1


@pytest.mark.parametrize("path", LISTS)
def test_offsets_beyond_the_bound_are_422_naming_offset(
    client: TestClient, admin: dict[str, str], path: str
) -> None:
    for offset in (5679837482392780537856, 2**63, MAX_OFFSET + 1):
        r = client.get(f"{API}{path}", headers=admin, params={"offset": offset})
        assert r.status_code == 422, (offset, r.text)
        assert r.json()["detail"][0]["loc"] == ["query", "offset"]


@pytest.mark.parametrize("path", LISTS)
def test_the_deepest_offset_allowed_works_on_the_database(
    client: TestClient, admin: dict[str, str], project: dict[str, Any], path: str
) -> None:
    r = client.get(f"{API}{path}", headers=admin, params={"offset": MAX_OFFSET})
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [] and r.json()["offset"] == MAX_OFFSET


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "W1s",  # base64 of truncated JSON
        _cursor({"a": 1}),  # JSON, wrong shape
        _cursor(["2024-01-01T00:00:00", 2**70]),  # an id no column holds
        _cursor(["yesterday", "abc"]),  # not a timestamp
        base64.urlsafe_b64encode(b"[" * 5000).decode(),  # nested past the JSON parser's depth
    ],
)
def test_cursors_that_do_not_decode_are_422(
    client: TestClient, admin: dict[str, str], cursor: str
) -> None:
    r = client.get(f"{API}/execution/plans", headers=admin, params={"cursor": cursor})
    assert r.status_code == 422, r.text
    assert "cursor" in r.json()["detail"]


def test_an_over_long_cursor_is_422(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get(f"{API}/tests", headers=admin, params={"cursor": "A" * 10_000})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_integer_parameter_is_bounded(client: TestClient) -> None:
    """So schemathesis' coverage phase tries each bound (and one past it) on both databases."""
    openapi = client.get("/openapi.json").json()
    integers = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                schema = param["schema"]
                options = schema.get("anyOf", [schema])
                if any(o.get("type") == "integer" for o in options):
                    integers.append((method, path, param["name"], schema))
    assert len(integers) >= 8, integers
    for method, path, name, schema in integers:
        bounded = next(o for o in schema.get("anyOf", [schema]) if o.get("type") == "integer")
        assert "minimum" in bounded and "maximum" in bounded, (method, path, name)
        assert -BIGINT_MAX <= bounded["minimum"] <= bounded["maximum"] <= BIGINT_MAX


def test_an_event_sequence_past_bigint_is_refused_by_the_socket(
    client: TestClient, admin: dict[str, str]
) -> None:
    token = admin["Authorization"].split()[1]
    too_far = f"{API}/ws?token={token}&since={2**63}"
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(too_far) as ws:
        ws.receive_json()
    assert refused.value.code == 1008  # policy violation: the query did not validate
    with client.websocket_connect(f"{API}/ws?token={token}&since={BIGINT_MAX}") as ws:
        assert ws.receive_json() == {"type": "hello", "seq": BIGINT_MAX, "replaying": True}
        assert ws.receive_json() == {"type": "caught_up", "seq": BIGINT_MAX}
