"""The execution test suite, unchanged, with ASSAY_EXECUTOR=celery and real workers.

The test functions are imported from tests/execution (and the real-project shapes of
tests/projects: workers build the project's environment and install it from the job's
snapshot, with no database credentials) as they are; only the fixtures
differ: the server (in-process) dispatches to two `celery -A assay.worker worker`
processes through Redis, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assay.config import Settings
from tests.conftest import ADMIN_PASSWORD, login
from tests.execution.test_dispatch import (  # noqa: F401  (re-collected here)
    test_cancel_kills_the_whole_process_tree,
    test_per_test_timeout_fails_that_test_and_the_batch_goes_on,
)
from tests.execution.test_plans import (  # noqa: F401
    test_junit_export_and_import,
    test_metrics_health_and_prometheus,
    test_plan_input_errors_are_clear_and_write_nothing,
    test_plan_runs_and_records_every_result,
    test_selection_by_tag_and_rerun_failed_only,
)
from tests.execution.test_websocket import (  # noqa: F401
    test_reconnect_with_since_sees_exactly_the_missed_events,
)
from tests.projects.test_project_shapes import (  # noqa: F401  (re-collected here)
    test_outcomes_match_the_developers_setup,
)
from tests.scaleout.conftest import Namespace, Worker
from tests.scaleout.helpers import API, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL only: the production pairing for Celery."""
    return pg_url


@pytest.fixture
def settings(settings: Settings, ns: Namespace, two_workers: list[Worker]) -> Settings:
    celery = ns.settings(executor="celery")
    return settings.model_copy(update={
        "executor": "celery",
        "broker_url": celery.broker_url,
        "redis_url": celery.redis_url,
        "redis_prefix": celery.redis_prefix,
        "celery_queue": celery.celery_queue,
        "job_heartbeat_seconds": celery.job_heartbeat_seconds,
    })


@pytest.fixture
def live_client(live_client: TestClient, two_workers: list[Worker]) -> TestClient:
    """The server, once its worker monitor has registered both workers.

    The monitor learns of a worker from its first heartbeat, then asks it for its
    process count; until both answers are in, the worker counts for nothing in
    `workers_total`. So wait on the registry the server exposes (GET /workers) until
    every worker of the fixture is listed online with its concurrency: the tests then
    start from a server that knows its workers, however late the first heartbeat is.
    """
    headers = login(live_client, "admin", ADMIN_PASSWORD)
    names = {w.name for w in two_workers}

    def registered() -> bool:
        listed = live_client.get(f"{API}/workers", headers=headers).json()["workers"]
        ready = {w["name"] for w in listed if w["online"] and w["concurrency"]}
        return names <= ready

    wait_for(registered, 60, f"the worker monitor to register {sorted(names)}")
    return live_client


@pytest.fixture
def one_slot(settings: Settings) -> Iterator[object]:
    """The dispatch tests' fixture, on Celery (its one local slot does not apply)."""
    from fastapi.testclient import TestClient

    from assay.api.app import create_app
    from tests.conftest import _headers_factory

    s = settings.model_copy(update={"test_timeout_seconds": 3.0, "reconcile_seconds": 3600.0})
    with TestClient(create_app(s)) as c:
        yield c, _headers_factory(c)
