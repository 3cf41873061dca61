"""The execution test suite, unchanged, with ASSAY_EXECUTOR=celery and real workers.

The test functions are imported from tests/execution as they are; only the fixtures
differ: the server (in-process) dispatches to two `celery -A assay.worker worker`
processes through Redis, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.config import Settings
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
from tests.scaleout.conftest import Namespace, Worker

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
def one_slot(settings: Settings) -> Iterator[object]:
    """The dispatch tests' fixture, on Celery (its one local slot does not apply)."""
    from fastapi.testclient import TestClient

    from assay.api.app import create_app
    from tests.conftest import _headers_factory

    s = settings.model_copy(update={"test_timeout_seconds": 3.0, "reconcile_seconds": 3600.0})
    with TestClient(create_app(s)) as c:
        yield c, _headers_factory(c)
