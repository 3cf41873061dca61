"""Property-based fuzzing of the foundation endpoints from the app's own OpenAPI schema.

Whatever schemathesis sends (valid, edge-case or malformed within the schema), the
answer is never a 5xx. SQLite only: this checks our handling of input, not the database.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select

from assay.api.app import create_app
from assay.config import Settings
from assay.db.models import User
from assay.security import access_tokens
from tests.conftest import ADMIN_PASSWORD

FOUNDATION = r"^/api/v1/(auth|users|tokens|projects|tests|health)"


@pytest.fixture(scope="module")
def fuzzed_app(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[Any, dict[str, str]]]:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, root / "assay.db")
    config = Settings(
        data_dir=root / "data",
        database_url=f"sqlite:///{root / 'assay.db'}",
        admin_password=ADMIN_PASSWORD,
        secret_key="fuzz-secret-" + uuid.uuid4().hex,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(config, orchestrator=False)
    with TestClient(app):  # runs the lifespan: migrations and the admin user
        with app.state.ctx.db.session() as s:
            admin_id = s.scalars(select(User.id).where(User.username == "admin")).one()
        token = access_tokens.issue(admin_id, config.resolved_secret_key(), 60)
        yield app, {"Authorization": f"Bearer {token}"}


def test_no_server_errors(fuzzed_app: tuple[Any, dict[str, str]]) -> None:
    """Each foundation operation gets its own Hypothesis run of generated requests.

    (Driven here rather than through `schema.parametrize()`, whose lazy-fixture
    subtests do not run on this pytest version.)
    """
    app, admin = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=FOUNDATION)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    calls = 0

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_5xx(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers={**(case.headers or {}), **admin})
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:500]}\n{case.as_curl_command()}"
            )

        no_5xx()
    assert calls >= 200
