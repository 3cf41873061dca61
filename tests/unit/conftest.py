"""The unit tier: real objects on a real SQLite file, no PostgreSQL, Redis or broker.

Every test here must run with every service stopped (`make test-unit`). A test that
asks for one of the suite's service-backed fixtures is refused at collection, so the
tier cannot quietly grow a dependency on a running service.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assay.db.engine import Database
from assay.db.migrate import upgrade
from assay.db.models import ExecutionPlan, Priority, Project, TestCase
from assay.services.plans import create_plan

# The fixtures of tests/conftest.py that reach PostgreSQL (`db_url` is parametrized over
# it). `fixturenames` is the transitive closure, so `settings`, `client` and the rest that
# build on them are caught too.
SERVICE_FIXTURES = frozenset({"db_url", "pg_database"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here not in Path(str(item.path)).parents:
            continue
        wanted = SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if wanted:
            raise pytest.UsageError(
                f"{item.nodeid} asks for {sorted(wanted)}: the unit tier runs without services"
            )


class FakeClock:
    """The wall clock (`utcnow`) under the test's control: it moves only when told."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """One controllable `utcnow` for the queue, plans, results and the event log."""
    fake = FakeClock()
    for module in (
        "assay.orchestrator.queue",
        "assay.services.plans",
        "assay.orchestrator.results",
        "assay.events.store",
    ):
        monkeypatch.setattr(f"{module}.utcnow", fake)
    return fake


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real schema, made once by the real migrations, to copy for each test.

    The migration leaves its connection open in WAL mode, so the schema may still sit
    in `-wal` beside the file; checkpoint it into the file before anyone copies it.
    """
    path = tmp_path_factory.mktemp("schema") / "template.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'execution_plans'"
        ).fetchone() == (1,)
    return path


@pytest.fixture
def db(migrated_sqlite: Path, tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database of this test's own (the real schema, via Alembic)."""
    path = tmp_path / "assay.db"
    shutil.copy(migrated_sqlite, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def project_id(db: Database) -> str:
    with db.session() as s:
        project = Project(name="sample", source={"type": "path", "path": "/nowhere"})
        s.add(project)
        s.flush()
        return project.id


def add_plan(
    db: Database, project_id: str, priority: Priority = Priority.medium, tests: int = 1,
    name: str = "",
) -> str:
    """A queued plan with `tests` code test cases, written as the API writes one."""
    with db.session() as s:
        cases = [
            TestCase(project_id=project_id, title=f"t{i}", code="def test_x():\n    pass\n")
            for i in range(tests)
        ]
        s.add_all(cases)
        s.flush()
        plan: ExecutionPlan = create_plan(
            s, project_id=project_id, cases=cases, priority=priority, name=name
        )
        return plan.id
