"""Real published projects through Assay, outcome for outcome against their own setup.

The project shapes in tests/projects are small fixtures written to exercise one thing
each; this benchmark takes real sdists from PyPI, whose suites were written by other
people for their own tooling, and asks whether Assay, given only the path, runs them
as their developers do — and how long it takes. For each project:

1. the pinned sdist is downloaded from PyPI (its sha256 checked) and unpacked twice,
   so the reference and Assay never share a tree (.pyc, build dirs);
2. the reference: a fresh `uv venv`, `uv pip install` of the project editable plus the
   test dependencies its own files declare (hard-coded below, with the file that
   declares them), then `python -m pytest --continue-on-collection-errors` with a small
   plugin that records each node id's outcome; the pytest run is timed;
3. Assay: a real `assay serve` (fresh data dir, SQLite, 2 workers), the project created
   from the path, its suite imported (`POST /projects/{id}/import-tests`), then two
   identical plans of every test: the first pays for whatever the import did not
   build, the second runs on cached environment and install — its wall time over the
   reference pytest's is the ratio that matters (goal <= 1.2);
4. the outcomes compared per node id; mismatches listed with Assay's failure line.

Every wait is bounded (`--step-timeout`): a project that hangs or breaks is reported
as failed with the step and the reason, and the next project runs.

Usage:
    .venv/bin/python bench/real_projects.py [--projects attrs,six] [--keep]
        [--json bench/results/real_projects.json] [--sdists DIR] [--step-timeout 900]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from assay.environments.interpreters import find_interpreter, server_version
from assay.environments.uv import uv_binary

ROOT = Path(__file__).resolve().parent
PASSWORD = "bench-real-projects-password"
SECRET = "bench-real-projects-secret-key-of-at-least-32-bytes"
FINAL = ("passed", "failed", "error", "cancelled")


@dataclass(frozen=True)
class RealProject:
    """A pinned release and how its own developers set it up for testing.

    `install` are the `uv pip install` arguments (run in the unpacked sdist, `pytest`
    is always added, as a developer without it would add it); `declared_in` cites the
    file of the sdist that declares those test dependencies, so the table can be
    checked against the release rather than taken on trust.
    """

    dist: str
    version: str
    shape: str
    install: tuple[str, ...]
    declared_in: str


# Chosen so that together they cover the build backends (setuptools with and without
# setup.py, hatchling, flit, poetry-core), both layouts (src/ and flat, tests inside the
# package), every kind of test-dependency declaration Assay reads (PEP 735 groups, test
# extras, requirement files, tox deps, poetry's dev-dependencies, none at all) and two
# compiled C extensions — each with its tests in the sdist, needing no network, and a
# suite of seconds to a minute on 2 cores. Checked by unpacking each: iniconfig 2.1.0,
# tomli 2.2.1 and sortedcontainers 2.4.0 ship no tests in their sdists; pyyaml's C
# extension needs libyaml headers the machine lacks; multidict's suite needs
# pytest-codspeed and friends; wrapt 1.17's conftest uses a hook argument pytest 9
# removed (its developers' own setup fails today), so wrapt is taken at 2.5.2.
PROJECTS: dict[str, RealProject] = {
    "attrs": RealProject(
        "attrs", "25.4.0", "hatchling + hatch-vcs, src/, PEP 735 group (and uv.lock)",
        ("-e", ".", "--group", "tests"),
        "pyproject.toml [dependency-groups] tests; tox.ini [testenv] dependency_groups"),
    "markupsafe": RealProject(
        "markupsafe", "3.0.3", "setuptools + C extension (setup.py Extension), src/, "
        "PEP 735 group",
        ("-e", ".", "--group", "tests"),
        "pyproject.toml [dependency-groups] tests"),
    "wrapt": RealProject(
        "wrapt", "2.5.2", "setuptools + C extension (setup.py Extension), src/, "
        "PEP 735 group, tox deps",
        ("-e", ".", "--group", "dev"),
        "pyproject.toml [dependency-groups] dev; tox.ini [testenv] deps = pytest"),
    "humanize": RealProject(
        "humanize", "4.12.3", "hatchling + hatch-vcs, src/, test extra",
        ("-e", ".[tests]"),
        "pyproject.toml optional-dependencies.tests; tox.ini [testenv] extras = tests"),
    "packaging": RealProject(
        "packaging", "25.0", "flit, src/, tests/requirements.txt",
        ("-e", ".", "-r", "tests/requirements.txt"),
        "tests/requirements.txt (noxfile: session.install('-r', 'tests/requirements.txt'))"),
    "more-itertools": RealProject(
        "more-itertools", "10.7.0", "flit, flat, unittest suite, no test deps",
        ("-e", "."),
        "tox.ini [testenv] has no deps (runs python -m unittest)"),
    "boltons": RealProject(
        "boltons", "25.0.0", "flit, flat, requirements-test.txt (pinned pytest)",
        ("-e", ".", "-r", "requirements-test.txt"),
        "requirements-test.txt; tox.ini [testenv] deps = -rrequirements-test.txt"),
    "python-dateutil": RealProject(
        "python-dateutil", "2.9.0.post0", "setuptools + setuptools_scm, src/, "
        "requirements-dev.txt, filterwarnings=error",
        ("-e", ".", "-r", "requirements-dev.txt"),
        "requirements-dev.txt; tox.ini [testenv] deps = -rrequirements-dev.txt"),
    "tomlkit": RealProject(
        "tomlkit", "0.13.2", "poetry-core, flat, [tool.poetry.dev-dependencies]",
        # the test-side part of the dev-dependencies (pre-commit, mypy 0.990, Sphinx 4,
        # furo are for linting and docs); poetry's caret constraints spelled for pip
        ("-e", ".", "pytest>=7.2,<8", "pytest-cov>=4,<5", "PyYAML>=6,<7"),
        "pyproject.toml [tool.poetry.dev-dependencies]"),
    "six": RealProject(
        "six", "1.17.0", "setuptools (setup.py only), one flat module, test at the root",
        ("-e", "."),
        "none in the sdist (upstream tox.ini deps = pytest)"),
    "toolz": RealProject(
        "toolz", "1.0.0", "setuptools + versioneer, flat, tests inside the package",
        ("-e", "."),
        "none in the sdist (upstream CI installs pytest only)"),
    "cachetools": RealProject(
        "cachetools", "5.5.2", "setuptools (setup.cfg), src/, tox deps",
        ("-e", ".", "pytest-cov"),
        "tox.ini [testenv] deps = pytest, pytest-cov"),
}


OUTCOME_PLUGIN = '''
"""Records each node id's outcome in Assay's vocabulary, and the collection errors.

An error in setup or teardown is `error` unless the call already failed; xfail is
`skipped` and a non-strict xpass `passed`, as pytest's own reports carry them.
"""
import json, os

_outcomes = {}
_collect_errors = []


def pytest_collectreport(report):
    if report.failed:
        _collect_errors.append(report.nodeid)


def pytest_runtest_logreport(report):
    if report.when == "call":
        outcome = report.outcome
    elif report.failed:
        outcome = "error"
    elif report.skipped:
        outcome = "skipped"
    else:
        return
    if _outcomes.get(report.nodeid, "passed") in ("passed", "skipped"):
        _outcomes[report.nodeid] = outcome


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["BENCH_OUTCOMES_FILE"], "w") as f:
        json.dump({"outcomes": _outcomes, "collect_errors": _collect_errors,
                   "exitstatus": int(exitstatus)}, f)
'''


class StepFailed(Exception):
    """A step of one project failed; the message says which and why."""


def run(argv: list[str], timeout: float, step: str,
        **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command in its own process group, killed whole when it overruns.

    `subprocess.run(timeout=)` kills only the direct child: a pytest or a build that
    spawned workers would keep the pipes open and the benchmark would hang on them.
    """
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise StepFailed(f"{step}: timed out after {timeout:.0f}s") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def download(project: RealProject, sdists: Path, timeout: float) -> Path:
    """The sdist, from `sdists` when an earlier run left it there, else from PyPI.

    Read from the simple index's JSON (PEP 691) and checked against its sha256:
    `pip download --no-binary :all:` would also build every build dependency from
    source just to prepare metadata nobody here reads.
    """

    def matches(filename: str) -> bool:
        name, _, version = filename.removesuffix(".tar.gz").rpartition("-")
        return canonical(name) == canonical(project.dist) and version == project.version

    if found := [p for p in sdists.glob("*.tar.gz") if matches(p.name)]:
        return found[0]
    try:
        index = httpx.get(f"https://pypi.org/simple/{canonical(project.dist)}/",
                          headers={"Accept": "application/vnd.pypi.simple.v1+json"},
                          timeout=timeout, follow_redirects=True)
        index.raise_for_status()
        [entry] = [f for f in index.json()["files"] if f["filename"].endswith(".tar.gz")
                   and matches(f["filename"])]
        body = httpx.get(entry["url"], timeout=timeout, follow_redirects=True)
        body.raise_for_status()
    except (httpx.HTTPError, ValueError) as exc:
        raise StepFailed(f"download: {type(exc).__name__}: {exc}") from exc
    if hashlib.sha256(body.content).hexdigest() != entry["hashes"]["sha256"]:
        raise StepFailed(f"download: {entry['filename']} does not match PyPI's sha256")
    path = sdists / entry["filename"]
    path.write_bytes(body.content)
    return path


def unpack(sdist: Path, dest: Path) -> Path:
    """The sdist's single top directory, unpacked under `dest`."""
    dest.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(dest, filter="data")
    [top] = [p for p in dest.iterdir() if p.is_dir()]
    return top


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would change pytest or Assay under it."""
    drop = ("ASSAY_", "PYTEST_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(drop)}, **extra}


# -- the reference ------------------------------------------------------------------

def reference(project: RealProject, tree: Path, work: Path, timeout: float) -> dict[str, Any]:
    """What the developers see: a fresh venv, the declared install, plain pytest."""
    uv = uv_binary()
    python = find_interpreter(server_version())
    if uv is None or python is None:
        raise StepFailed("reference: uv or the server's Python is not available")
    venv = work / "ref-venv"
    started = time.perf_counter()
    done = run([uv, "venv", "-q", "--python", str(python), str(venv)], timeout,
               "reference venv", env=clean_env())
    if done.returncode != 0:
        raise StepFailed(f"reference venv: {tail(done.stderr, 5)}")
    vpy = venv / "bin" / "python"
    done = run([uv, "pip", "install", "-q", "--python", str(vpy), "pytest", *project.install],
               timeout, "reference install", cwd=tree, env=clean_env())
    if done.returncode != 0:
        raise StepFailed(f"reference install: {tail(done.stderr)}")
    install_s = time.perf_counter() - started

    plugin = work / "ref-plugin"
    plugin.mkdir()
    (plugin / "bench_outcomes.py").write_text(OUTCOME_PLUGIN)
    out = work / "ref-outcomes.json"
    env = clean_env(PYTHONPATH=str(plugin), BENCH_OUTCOMES_FILE=str(out))
    started = time.perf_counter()
    done = run([str(vpy), "-m", "pytest", "-p", "no:cacheprovider", "-p", "bench_outcomes",
                "--continue-on-collection-errors"], timeout, "reference pytest",
               cwd=tree, env=env)
    pytest_s = time.perf_counter() - started
    if not out.is_file():
        raise StepFailed(f"reference pytest exited {done.returncode} without a report: "
                         f"{tail(done.stdout + done.stderr)}")
    data = json.loads(out.read_text())
    summary = done.stdout.strip().splitlines()[-1:] if done.stdout.strip() else []
    return {"outcomes": data["outcomes"], "collect_errors": data["collect_errors"],
            "exitstatus": data["exitstatus"], "summary": summary[0] if summary else "",
            "install_s": round(install_s, 2), "pytest_s": round(pytest_s, 2)}


# -- Assay --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A real `assay serve` with a fresh data dir, as tests/servers.py starts one.

    Its own process group, so a stop that overruns can end it and every sandbox
    process below it, and no project can leave a server behind for the next.
    """

    def __init__(self, data: Path, database_url: str | None = None,
                 timeout: float = 60) -> None:
        """`database_url` defaults to SQLite in `data`; `timeout` is the API client's."""
        data.mkdir(mode=0o755)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data / "server.log"
        env = clean_env(
            ASSAY_DATA_DIR=str(data),
            ASSAY_DATABASE_URL=database_url or f"sqlite:///{data / 'assay.db'}",
            ASSAY_ADMIN_PASSWORD=PASSWORD, ASSAY_SECRET_KEY=SECRET,
            ASSAY_PORT=str(self.port), ASSAY_WORKERS="2", ASSAY_LOG_LEVEL="WARNING")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "assay", "serve"], env=env,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.api = httpx.Client(base_url=f"{self.url}/api/v1", timeout=timeout)

    def start(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StepFailed(f"server exited {self.proc.returncode}: {self.log()}")
            try:
                if self.api.get("/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise StepFailed(f"server did not start in {timeout:.0f}s: {self.log()}")
        r = self.api.post("/auth/login", json={"username": "admin", "password": PASSWORD})
        r.raise_for_status()
        self.api.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def log(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        self.api.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever is left of its group
        self.proc.wait(10)


def poll(step: str, timeout: float, interval: float,
         probe: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """`probe()` until it answers something, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (answer := probe()) is not None:
            return answer
        time.sleep(interval)
    raise StepFailed(f"{step}: not finished after {timeout:.0f}s")


def import_suite(api: httpx.Client, project_id: str, timeout: float) -> dict[str, Any]:
    """Import the suite: a 200 with the result, or a 202 followed until it ends."""
    r = api.post(f"/projects/{project_id}/import-tests", timeout=timeout)
    if r.status_code not in (200, 202):
        raise StepFailed(f"import: HTTP {r.status_code}: {r.text[:500]}")
    record = dict(r.json())
    if r.status_code == 200 and record.get("status") in (None, "finished"):
        return record

    def probe() -> dict[str, Any] | None:
        state = api.get(f"/projects/{project_id}/import-tests").json()
        return None if state.get("status") == "running" else dict(state)

    record = poll("import", timeout, 0.25, probe)
    if record.get("status") != "finished":
        raise StepFailed(f"import {record.get('status')}: {record.get('detail')}")
    return record


def run_plan(api: httpx.Client, project_id: str, timeout: float) -> tuple[float, dict[str, Any]]:
    """One plan of every active test; its wall time from POST to a final status.

    Polls the plan list (no runs in it), not the plan itself: a plan of a thousand
    runs with their output, fetched ten times a second, would load the server it
    measures. The runs are read once, at the end.
    """
    started = time.perf_counter()
    r = api.post("/execution/plans", json={"project_id": project_id, "selection": {}})
    if r.status_code != 201:
        raise StepFailed(f"plan: HTTP {r.status_code}: {r.text[:500]}")
    plan_id = r.json()["id"]

    def probe() -> dict[str, Any] | None:
        page = api.get("/execution/plans", params={"project_id": project_id, "limit": 10})
        if page.status_code != 200:
            raise StepFailed(f"plan list: HTTP {page.status_code}: {page.text[:500]}")
        for plan in page.json()["items"]:
            if plan["id"] == plan_id and plan["status"] in FINAL:
                return dict(plan)
        return None

    try:
        poll("plan", timeout, 0.05, probe)
    except StepFailed:
        api.post(f"/execution/plans/{plan_id}/cancel")
        raise
    wall = time.perf_counter() - started
    plan = dict(api.get(f"/execution/plans/{plan_id}", timeout=120).json())
    plan["runs"] = all_runs(api, plan_id)  # the detail inlines only the first 100
    return wall, plan


def all_runs(api: httpx.Client, plan_id: str) -> list[dict[str, Any]]:
    """Every run of a plan, a page of 200 at a time (GET /execution/plans/{id}/runs)."""
    runs: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/execution/plans/{plan_id}/runs", params=params, timeout=120)
        if page.status_code != 200:
            raise StepFailed(f"plan runs: HTTP {page.status_code}: {page.text[:500]}")
        body = page.json()
        runs.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return runs


def server_seconds(plan: dict[str, Any]) -> float | None:
    """The plan's own started -> finished, to tell dispatch and polling from the run."""
    if not plan.get("started_at") or not plan.get("finished_at"):
        return None
    started, finished = (datetime.fromisoformat(plan[k].replace("Z", "+00:00"))
                         for k in ("started_at", "finished_at"))
    return round((finished - started).total_seconds(), 2)


def references_by_id(api: httpx.Client, project_id: str) -> dict[str, str]:
    """Test case id -> node id, every page of the project's tests."""
    ids: dict[str, str] = {}
    offset = 0
    while True:
        page = api.get("/tests", params={"project_id": project_id, "limit": 200,
                                         "offset": offset}).json()
        for case in page["items"]:
            if case.get("reference"):
                ids[case["id"]] = case["reference"]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return ids


def through_assay(project: RealProject, tree: Path, work: Path,
                  timeout: float) -> dict[str, Any]:
    """Given only the path: create, import, plan twice, and what Assay made of it."""
    server = Server(work / "assay-data")
    result: dict[str, Any] = {}
    try:
        server.start()
        api = server.api
        r = api.post("/projects", json={"name": project.dist,
                                        "source": {"type": "path", "path": str(tree)}})
        if r.status_code != 201:
            raise StepFailed(f"create project: HTTP {r.status_code}: {r.text[:500]}")
        project_id = r.json()["id"]

        started = time.perf_counter()
        imported = import_suite(api, project_id, timeout)
        result["import_s"] = round(time.perf_counter() - started, 2)
        result["import"] = {k: imported.get(k) for k in ("collected", "created", "notes")}
        result["import"]["errors"] = imported.get("errors") or []
        env = api.get(f"/projects/{project_id}/environment")
        if env.status_code == 200:
            found = env.json()
            result["environment"] = {
                "python": found.get("python_version"),
                "declarations": [{k: d.get(k) for k in ("kind", "source", "used")}
                                 for d in found.get("declarations", [])],
                "requirements": found.get("requirements", []),
                "lock": found.get("lock"), "lock_groups": found.get("lock_groups")}
        nodeids = references_by_id(api, project_id)

        first_s, first = run_plan(api, project_id, timeout)
        cached_s, cached = run_plan(api, project_id, timeout)
        result.update(first_plan_s=round(first_s, 2), cached_plan_s=round(cached_s, 2))
        for key, plan in (("first_plan", first), ("cached_plan", cached)):
            result[key] = {"status": plan["status"], "error": plan.get("error"),
                           "counts": plan.get("counts"),
                           "server_s": server_seconds(plan)}
        result["runs"] = {
            nodeids.get(run_["test_case_id"], run_["name"]): {
                "status": run_["status"], "failure": run_.get("failure"),
                "output": run_.get("output")}
            for run_ in cached["runs"]}
        return result
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise StepFailed(f"assay: {type(exc).__name__}: {exc}; server log: "
                         f"{server.log(1500)}") from exc
    finally:
        server.stop()


# -- comparing ----------------------------------------------------------------------

def headline(text: str | None) -> str:
    """The line of a pytest failure a person reads first: its first `E ` line."""
    if not text:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = next((ln for ln in lines if ln.startswith("E ")), lines[0] if lines else "")
    return line[:200]


def compare(ref: dict[str, Any], assay: dict[str, Any]) -> dict[str, Any]:
    """Per node id, the reference's outcome against Assay's (`missing` on either side)."""
    want: dict[str, str] = ref["outcomes"]
    runs: dict[str, dict[str, Any]] = assay["runs"]
    errors = {e["path"]: headline(e.get("error")) for e in assay["import"]["errors"]}
    identical = 0
    mismatches = []
    for nodeid in sorted(set(want) | set(runs)):
        expected = want.get(nodeid, "missing")
        run_ = runs.get(nodeid)
        got = run_["status"] if run_ else "missing"
        if expected == got:
            identical += 1
            continue
        if run_:
            why = headline(run_.get("failure"))
        else:
            module = nodeid.split("::", 1)[0]
            why = (f"not collected by Assay's import: {errors[module]}" if module in errors
                   else "not among Assay's test cases")
        mismatches.append({"nodeid": nodeid, "reference": expected, "assay": got,
                           "assay_failure": why,
                           "assay_failure_text": ((run_ or {}).get("failure") or "")[:2000]})
    return {"tests": len(want), "identical": identical, "mismatches": mismatches}


def bench_project(name: str, project: RealProject, work: Path, sdists: Path,
                  timeout: float, console: Console) -> dict[str, Any]:
    """One project end to end; a failure anywhere becomes the result's `reason`."""
    result: dict[str, Any] = {"project": name, "dist": project.dist,
                              "version": project.version, "shape": project.shape,
                              "reference_install": ["pytest", *project.install],
                              "declared_in": project.declared_in, "status": "failed"}
    work.mkdir(mode=0o755)
    try:
        console.log(f"{name}: download")
        sdist = download(project, sdists, timeout)
        console.log(f"{name}: reference (uv venv, uv pip install, pytest)")
        ref = reference(project, unpack(sdist, work / "ref-tree"), work, timeout)
        result["reference"] = {k: v for k, v in ref.items() if k != "outcomes"}
        console.log(f"{name}: reference {len(ref['outcomes'])} tests in {ref['pytest_s']}s; "
                    "Assay (serve, import, 2 plans)")
        assay = through_assay(project, unpack(sdist, work / "assay-tree"), work, timeout)
        result["assay"] = {k: v for k, v in assay.items() if k != "runs"}
        result.update(compare(ref, assay))
        result["ratio"] = round(assay["cached_plan_s"] / max(ref["pytest_s"], 1e-3), 2)
        result["status"] = "ok"
    except StepFailed as exc:
        result["reason"] = str(exc)
    except Exception as exc:  # a bug here must not cost the other projects
        result["reason"] = f"benchmark error: {type(exc).__name__}: {exc}"
    return result


def report(results: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Real projects: the developers' pytest vs Assay (cached plan)")
    for column in ("project", "tests", "identical", "mismatches", "reference s",
                   "import s", "first plan s", "cached plan s", "ratio"):
        table.add_column(column, justify="left" if column == "project" else "right")
    for r in results:
        name = f"{r['project']} {r['version']}"
        if r["status"] != "ok":
            table.add_row(name, "-", "-", "-", "-", "-", "-", "-", "[red]failed[/red]")
            continue
        ratio = r["ratio"]
        colour = "green" if ratio <= 1.2 else "red"
        table.add_row(name, str(r["tests"]), str(r["identical"]), str(len(r["mismatches"])),
                      f"{r['reference']['pytest_s']:.2f}", f"{r['assay']['import_s']:.2f}",
                      f"{r['assay']['first_plan_s']:.2f}", f"{r['assay']['cached_plan_s']:.2f}",
                      f"[{colour}]{ratio:.2f}[/{colour}]")
    console.print(table)
    console.print("reference s: the developers' `python -m pytest`, wall clock; import s: "
                  "snapshot + environment build + project install + collection; ratio: "
                  "cached plan s / reference s (goal <= 1.2)")
    for r in results:
        if r["status"] != "ok":
            console.print(f"[red]{r['project']}: failed[/red] — {r.get('reason')}")
        elif r["mismatches"]:
            console.print(f"[yellow]{r['project']}[/yellow]: {len(r['mismatches'])} "
                          f"mismatches (reference -> Assay)")
            for m in r["mismatches"][:5]:
                console.print(f"  {m['nodeid']}: {m['reference']} -> {m['assay']}  "
                              f"{m['assay_failure']}", markup=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default=",".join(PROJECTS),
                        help=f"comma-separated, among: {', '.join(PROJECTS)}")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "real_projects.json")
    parser.add_argument("--sdists", type=Path, default=None,
                        help="where sdists are downloaded and reused (default: the work dir)")
    parser.add_argument("--step-timeout", type=float, default=900.0,
                        help="bound on each step (install, pytest, import, each plan)")
    args = parser.parse_args()
    names = [n.strip() for n in args.projects.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROJECTS]
    if unknown:
        parser.error(f"unknown projects {unknown}; choose among {', '.join(PROJECTS)}")

    console = Console(width=None if sys.stdout.isatty() else 150)
    work = Path(tempfile.mkdtemp(prefix="assay-real-projects-"))
    work.chmod(0o755)
    sdists = args.sdists or work / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for name in names:
            results.append(bench_project(name, PROJECTS[name], work / name, sdists,
                                         args.step_timeout, console))
            r = results[-1]
            console.log(f"{name}: {r['status']}"
                        + (f" — {r.get('reason', '')[:300]}" if r["status"] != "ok" else ""))
    finally:
        if args.keep:
            console.log(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(results, console)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"when": time.time(), "machine": {"cpus": os.cpu_count()},
                                     "python": server_version(), "projects": results},
                                    indent=2))
    console.print(f"written {args.json}")


if __name__ == "__main__":
    main()
