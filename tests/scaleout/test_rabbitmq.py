"""The basic path with RabbitMQ as the broker (results still come back through Redis)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.api.app import create_app
from tests.conftest import ADMIN_PASSWORD, login
from tests.scaleout.conftest import Fleet, Namespace, events_of, scratch
from tests.scaleout.helpers import add_test, create_plan, make_project, runs_by_name, wait_plan

pytestmark = pytest.mark.slow


def test_plans_run_through_rabbitmq(
    fleet: Fleet, ns: Namespace, pg_url: str, env_cache_dir: Path, sample_project: Path,
) -> None:
    fleet.start(broker="amqp", concurrency=1, trust_local=True)
    settings = ns.settings(
        "amqp",
        executor="celery",
        database_url=pg_url,
        data_dir=scratch(ns, "server"),
        admin_password=ADMIN_PASSWORD,
        secret_key="test-secret-" + uuid.uuid4().hex,
        env_cache_dir=env_cache_dir,
    )
    assert settings.broker_url.startswith("amqp://")
    with TestClient(create_app(settings)) as app:
        admin = login(app, "admin", ADMIN_PASSWORD)
        project = make_project(app, admin, sample_project, "rabbit")
        cases = [add_test(app, admin, project, n, reference=f"tests/test_calc.py::{n}")
                 for n in ("test_add", "test_broken")]
        low = create_plan(app, admin, project, cases, priority="low")
        critical = create_plan(app, admin, project, cases[:1], priority="critical")
        for plan_id in (low, critical):
            body = wait_plan(app, admin, plan_id)
            assert body["status"] == ("failed" if plan_id == low else "passed"), body
        runs = runs_by_name(wait_plan(app, admin, low))
        assert runs["test_add"]["status"] == "passed"
        assert runs["test_broken"]["status"] == "failed"
        finished = [e for e in events_of(pg_url, [low, critical]) if e["type"] == "test.finished"]
        assert len(finished) == 3
