"""A suite of one module with N parametrized cases: bare pytest vs a plan of all of it.

The shape that made fixed batches quadratic: every job collects the whole module, so
a plan cost its collection once per 200 tests. Measured here in one run, on one
machine: the bare `python -m pytest` of the module in the plan's own environment
(the baseline), then through a real `assay serve`: the import, the POST that creates
the plan of every case, and the plan's wall time to its final status.

Usage:
    .venv/bin/python bench/large_suite.py [--cases 20000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from real_projects import Server, clean_env, import_suite, run_plan  # same directory

TEST_MODULE = '''
import pytest


@pytest.mark.parametrize("n", range({cases}))
def test_case(n):
    assert n * 2 - n == n
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="assay-large-suite-"))
    work.chmod(0o755)
    project = work / "bigsuite"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_big.py").write_text(TEST_MODULE.format(cases=args.cases))
    server = Server(work / "assay-data")
    try:
        server.start()
        api = server.api
        r = api.post("/projects", json={"name": "bigsuite",
                                        "source": {"type": "path", "path": str(project)}})
        r.raise_for_status()
        project_id = r.json()["id"]
        started = time.perf_counter()
        imported = import_suite(api, project_id, args.timeout)
        import_s = time.perf_counter() - started
        plan_s, plan = run_plan(api, project_id, args.timeout)
        envs = sorted((work / "assay-data" / "envs").glob("*/0/venv/bin/python"))
        python = envs[0] if envs else Path(sys.executable)
        started = time.perf_counter()
        bare = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests/test_big.py"], cwd=project, capture_output=True,
                              text=True, env=clean_env(), timeout=args.timeout, check=False)
        bare_s = time.perf_counter() - started
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "cases": args.cases,
        "collected": imported.get("collected"),
        "import_s": round(import_s, 2),
        "plan_status": plan["status"],
        "plan_counts": plan.get("counts"),
        "plan_s": round(plan_s, 2),
        "bare_pytest_s": round(bare_s, 2),
        "bare_summary": (bare.stdout.strip().splitlines() or [""])[-1],
        "ratio": round(plan_s / bare_s, 2),
    }
    print(json.dumps(result, indent=2))
    print(f"{args.cases} cases: plan {plan_s:.1f}s vs bare pytest {bare_s:.1f}s "
          f"(ratio {plan_s / bare_s:.2f}); import {import_s:.1f}s")


if __name__ == "__main__":
    main()
