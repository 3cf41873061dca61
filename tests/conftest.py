"""Shared fixtures: a real database (SQLite and PostgreSQL), an app, users with roles.

`db_url` is parametrized over both databases, so every API test runs against real
SQLite and the machine's real PostgreSQL (ASSAY_TEST_PG_URL; default the local
`test` database). Each test gets a clean schema.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from assay.api.app import create_app
from assay.config import Settings
from assay.db.base import Base
from assay.db.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "ASSAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ADMIN_PASSWORD = "admin-password-1"


@pytest.fixture(scope="session")
def open_tmp() -> Iterator[Path]:
    """A temp root the sandbox's unprivileged uid can traverse.

    pytest's own tmp_path lives under a mode-0700 directory, which the sandboxed
    test process (running as `nobody`) could not reach.
    """
    root = Path(tempfile.mkdtemp(prefix="assay-tests-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def data_dir(open_tmp: Path) -> Path:
    path = Path(tempfile.mkdtemp(dir=open_tmp))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def env_cache(open_tmp: Path) -> Path:
    """One environment cache for the whole session: each env is built once."""
    shared = os.environ.get("ASSAY_TEST_ENV_CACHE")
    if shared:
        Path(shared).mkdir(parents=True, exist_ok=True)
        return Path(shared)
    path = open_tmp / "envs"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this session, migrated once."""
    name = f"assay_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - reported, not hidden
        pytest.fail(f"PostgreSQL is required for the test suite ({PG_ADMIN_URL}): {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "assay.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(db_url: str, data_dir: Path, env_cache: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=db_url,
        admin_password=ADMIN_PASSWORD,
        secret_key="test-secret-key-" + uuid.uuid4().hex,
        env_cache_dir=env_cache,
        workers=2,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The API without the orchestrator (foundation tests)."""
    with TestClient(create_app(settings, orchestrator=False)) as c:
        yield c


@pytest.fixture
def live_client(settings: Settings) -> Iterator[TestClient]:
    """The API with its orchestrator running: plans really execute."""
    with TestClient(create_app(settings, orchestrator=True)) as c:
        yield c


def login(c: TestClient, username: str, password: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _headers_factory(c: TestClient) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}

    def headers(role: str) -> dict[str, str]:
        if role not in cache:
            admin = cache.get("admin") or login(c, "admin", ADMIN_PASSWORD)
            cache["admin"] = admin
            if role != "admin":
                password = f"{role}-password-1"
                r = c.post("/api/v1/users", headers=admin,
                           json={"username": role, "password": password, "role": role})
                assert r.status_code == 201, r.text
                cache[role] = login(c, role, password)
        return cache[role]

    return headers


@pytest.fixture
def as_role(client: TestClient) -> Callable[[str], dict[str, str]]:
    """`as_role("editor")` → auth headers of a user with that role (created on first use)."""
    return _headers_factory(client)


@pytest.fixture
def live_as_role(live_client: TestClient) -> Callable[[str], dict[str, str]]:
    return _headers_factory(live_client)


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A small real Python project with its own passing and failing tests."""
    root = tmp_path / "sample_project"
    (root / "calc").mkdir(parents=True)
    (root / "calc" / "__init__.py").write_text(
        "def add(a: int, b: int) -> int:\n    return a + b\n\n\n"
        "def div(a: float, b: float) -> float:\n    return a / b\n"
    )
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(
        "from calc import add, div\n\n\n"
        "def test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_div():\n    assert div(6, 3) == 2\n\n\n"
        "def test_broken():\n    assert add(1, 1) == 3\n"
    )
    return root


def make_project(c: TestClient, headers: dict[str, str], path: Path, name: str = "sample") -> Any:
    r = c.post("/api/v1/projects", headers=headers,
               json={"name": name, "source": {"type": "path", "path": str(path)}})
    assert r.status_code == 201, r.text
    return r.json()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last.

    Playwright's sync API keeps an event loop running in the main thread for the rest
    of the session, after which `asyncio.run` (used by the worker and generation
    tests) refuses to start.
    """
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
