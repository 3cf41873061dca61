"""Generation end to end through the real API, sandbox, coverage and orchestrator."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_project
from tests.execution.helpers import wait_plan

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

BEFORE = '''def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def label(score: int) -> str:
    return "high" if score > 50 else "low"
'''

AFTER = '''def clamp(value: int, low: int, high: int) -> int:
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))


def label(score: int) -> str:
    if score < 0:
        return "invalid"
    return "high" if score > 50 else "low"
'''


@pytest.fixture
def git_project(tmp_path: Path) -> tuple[Path, str]:
    """A project with an uncommitted change, and its `git diff` (the usual workflow)."""
    root = tmp_path / "shop"
    (root / "shop").mkdir(parents=True)
    module = root / "shop" / "rules.py"
    (root / "shop" / "__init__.py").write_text("")
    module.write_text(BEFORE)
    run = lambda *a: subprocess.run(a, cwd=root, check=True, capture_output=True)  # noqa: E731
    run("git", "init", "-q")
    run("git", "add", ".")
    run("git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "v1")
    module.write_text(AFTER)
    diff = subprocess.run(["git", "diff"], cwd=root, check=True, capture_output=True,
                          text=True).stdout
    return root, diff


def wait_generation(c: TestClient, h: dict[str, str], gid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while True:
        gen = c.get(f"/api/v1/generations/{gid}", headers=h).json()
        if gen["status"] not in ("queued", "running"):
            return dict(gen)
        assert time.monotonic() < deadline, gen
        time.sleep(0.2)


def test_diff_touching_two_functions(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]],
    git_project: tuple[Path, str],
) -> None:
    c, h = live_client, live_as_role("editor")
    root, diff = git_project
    project = make_project(c, h, root, name="shop")
    r = c.post("/api/v1/tests/generate", headers=h,
               json={"project_id": project["id"], "mode": "diff", "diff": diff})
    assert r.status_code == 202, r.text
    gen = wait_generation(c, h, r.json()["generation_id"])
    assert gen["status"] == "finished", gen
    accepted = [x for x in gen["candidates"] if x["verdict"] == "accepted"]
    assert {x["target"] for x in accepted} == {"shop.rules:clamp", "shop.rules:label"}
    for cand in accepted:
        assert cand["runs_passed"] == cand["runs_total"] >= 3
        assert cand["target_lines_covered"] and cand["test_case_id"]
        case = c.get(f"/api/v1/tests/{cand['test_case_id']}", headers=h).json()
        assert case["origin"] == "ai" and case["generation_id"] == gen["id"]
    # The changed lines themselves are exercised: the new branches are pinned.
    codes = "\n".join(x["code"] for x in accepted)
    assert "ValueError" in codes and "'invalid'" in codes

    plan = wait_plan(c, h, gen["plan_id"], timeout=120)
    assert plan["status"] == "passed" and plan["trigger"] == "generation"
    assert plan["total"] == len(accepted)


def test_bad_generation_inputs(
    live_client: TestClient, live_as_role: Callable[[str], dict[str, str]],
    git_project: tuple[Path, str],
) -> None:
    c, h = live_client, live_as_role("editor")
    root, diff = git_project
    project = make_project(c, h, root, name="shop")
    post = lambda **body: c.post(  # noqa: E731
        "/api/v1/tests/generate", headers=h, json={"project_id": project["id"], **body})

    r = post(mode="diff", diff="hello, this is not a diff")
    assert r.status_code == 422 and "diff" in str(r.json()["detail"])
    r = post(mode="diff", diff=diff.replace("shop/rules.py", "README.md"))
    assert r.status_code == 422
    r = post(mode="function", target="shop.rules:clam")
    assert r.status_code == 422 and "shop.rules:clamp" in str(r.json()["detail"])
    r = post(mode="function", source="def broken(:\n    pass\n")
    assert r.status_code == 422 and "line 1" in str(r.json()["detail"])
    r = post(mode="function", source="x" * (600 * 1024))
    assert r.status_code == 413
    r = post(mode="function", target="shop.rules:clamp", engine="llm")
    assert r.status_code == 422 and "LLM" in str(r.json()["detail"])
    assert c.get("/api/v1/generations", headers=h).json()["total"] == 0

    symbols = c.get(f"/api/v1/projects/{project['id']}/symbols", headers=h,
                    params={"q": "cla"}).json()
    assert [s["target"] for s in symbols["items"]] == ["shop.rules:clamp"]
