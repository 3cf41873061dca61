"""`assay run`'s report pages through a plan's runs: every failure of a large plan shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from assay.cli.api_client import ApiClient
from assay.cli.client import report
from assay.db.engine import Database
from assay.db.models import TestRun
from tests.api.test_plan_runs import all_pages, seed_cases
from tests.conftest import make_project


def test_report_shows_every_failure_past_the_first_page(
    client: TestClient, as_role: Callable[[str], dict[str, str]], project_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    h = as_role("admin")
    db: Database = client.app.state.ctx.db  # type: ignore[attr-defined]
    project = make_project(client, h, project_dir)
    seed_cases(db, project["id"], 520)
    plan = client.post("/api/v1/execution/plans", headers=h,
                       json={"project_id": project["id"], "selection": {}}).json()
    runs = all_pages(client, h, plan["id"], limit=200)
    failing = runs[90:100] + runs[300:520:2]  # within and well past the inline runs
    with db.session() as s:
        s.execute(update(TestRun).where(TestRun.plan_id == plan["id"])
                  .values(status="passed"))
        for i, run in enumerate(failing):
            s.execute(update(TestRun).where(TestRun.id == run["id"]).values(
                status="error" if i % 5 == 0 else "failed", failure=f"boom {run['name']}"))

    api = ApiClient("http://testserver", "a-token")
    api.http = TestClient(client.app, base_url="http://testserver/api/v1", headers=h)
    assert report(api, plan["id"]) == 1
    err = capsys.readouterr().err
    shown = [line for line in err.splitlines() if line.startswith("boom ")]
    assert shown == [f"boom {run['name']}" for run in failing]  # each once, in plan order
    assert f"{520 - len(failing)} passed" in err
