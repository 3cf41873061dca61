"""Validate candidate tests: several sandboxed pytest runs with coverage, then the filter.

A candidate is kept only if it passes every run and covers at least one target line
that the candidates accepted before it did not (the TestGen-LLM / Qodo Cover filter).
All candidates of a batch run in one pytest process per run (pytest's start-up is
paid once); coverage.py's `test_function` dynamic context attributes each executed
line to the test that ran it, and the second run goes in reverse order so a test that
only passes after another one is caught as flaky.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coverage import CoverageData

from assay.generation.model import Candidate, TargetInfo
from assay.generation.workspace import GEN_DIR, SandboxRunner
from assay.runner.pytest_cmd import USAGE_ERROR
from assay.runner.pytest_config import neutralized, neutralized_note, pinned_args

RUNS = 3
CANDIDATE_DIR = f"{GEN_DIR}/candidates"
PER_TEST_TIMEOUT_S = 30
EXCERPT = 2000

CONFTEST = f'''"""Per-test coverage context and alarm (written by Assay's test generation).

Contexts are switched here rather than with coverage's `dynamic_context =
test_function`, which Hypothesis defeats (its engine has a method named
`test_function`). The alarm stops one hanging candidate from stalling its batch.
"""
import signal

import pytest

try:
    import coverage
except ImportError:
    coverage = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cov = coverage.Coverage.current() if coverage is not None else None
    module = getattr(getattr(item, "module", None), "__name__", "")
    if cov is not None:
        cov.switch_context(f"{{module}}.{{item.name}}")
    try:
        yield
    finally:
        if cov is not None:
            cov.switch_context("")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    def _timeout(signum, frame):
        pytest.fail("timed out after {PER_TEST_TIMEOUT_S} s", pytrace=False)

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm({PER_TEST_TIMEOUT_S})
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
'''


@dataclass
class Submission:
    target: TargetInfo
    name: str
    code: str
    kind: str = "example"
    engine: str = "builtin"


def _is_docstring(stmt: object) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def normalized(code: str) -> str | None:
    """Code compared structurally: formatting, comments and docstring text do not count."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            body.pop(0)
    return ast.dump(tree, annotate_fields=False)


@dataclass
class Ledger:
    """What accepted candidates already cover, and codes already seen (for duplicates)."""

    covered: dict[str, set[int]] = field(default_factory=dict)  # file -> lines
    seen: dict[str, str] = field(default_factory=dict)  # normalized code -> what it is
    counter: int = 0

    def add_existing(self, codes: Iterable[str] | Mapping[str, str]) -> None:
        """Existing tests' code; a mapping gives each its name (`test case "title"`)."""
        names = codes if isinstance(codes, Mapping) else {}
        for code in codes:
            key = normalized(code)
            if key:
                self.seen.setdefault(key, names.get(code) or "an existing test case")


@dataclass
class RunOutcome:
    passed: bool
    ran: bool
    failure: str | None


def _parse_junit(path: Path, modules: list[str]) -> dict[str, RunOutcome]:
    """Per candidate module: did all its tests pass, did any run, first failure text."""
    out: dict[str, RunOutcome] = {}
    if not path.exists():
        return out
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return out
    for case in root.iter("testcase"):
        where = f"{case.get('classname', '')}.{case.get('name', '')}".split(".")
        module = next((m for m in modules if m in where), None)
        if module is None:
            continue
        prev = out.get(module, RunOutcome(passed=True, ran=False, failure=None))
        bad = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
        if bad is None:
            out[module] = RunOutcome(passed=prev.passed, ran=True, failure=prev.failure)
            continue
        text = f"{bad.get('message', '')}\n{bad.text or ''}".strip()
        if bad.tag == "skipped":
            text = f"skipped: {text}"
        collection = "collection" in (bad.get("message") or "")
        out[module] = RunOutcome(
            passed=False,
            ran=prev.ran or not collection,
            failure=prev.failure or text[-EXCERPT:],
        )
    return out


def _coverage_by_module(
    data_file: Path, workspace: Path, files: set[str]
) -> dict[str, dict[str, set[int]]]:
    """module -> target file -> lines, from one run's coverage data with test contexts."""
    out: dict[str, dict[str, set[int]]] = {}
    if not data_file.exists():
        return out
    data = CoverageData(basename=str(data_file))
    data.read()
    for measured in data.measured_files():
        try:
            rel = Path(measured).resolve().relative_to(workspace.resolve()).as_posix()
        except ValueError:
            continue
        if rel not in files:
            continue
        for line, contexts in (data.contexts_by_lineno(measured) or {}).items():
            for ctx in contexts:
                if ctx:
                    module = ctx.split(".")[0]
                    out.setdefault(module, {}).setdefault(rel, set()).add(line)
    return out


async def validate(
    submissions: list[Submission], runner: SandboxRunner, ledger: Ledger, *, runs: int = RUNS
) -> list[Candidate]:
    """Run the batch `runs` times and give every submission its verdict (in order)."""
    workspace = runner.workspace
    cand_dir = workspace / CANDIDATE_DIR
    cand_dir.mkdir(parents=True, exist_ok=True)
    (cand_dir / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    results: dict[int, Candidate] = {}
    modules: dict[int, str] = {}
    for i, sub in enumerate(submissions):
        cand = Candidate(
            target=sub.target.name,
            name=sub.name,
            code=sub.code,
            engine=sub.engine,
            kind=sub.kind,
            runs_total=runs,
        )
        key = normalized(sub.code)
        if key is None:
            try:
                ast.parse(sub.code)
            except SyntaxError as exc:
                cand.verdict, cand.failure = "error", f"syntax error line {exc.lineno}: {exc.msg}"
            cand.runs_total = 0  # never run
            results[i] = cand
            continue
        if key in ledger.seen:
            # Not run: "runs 0/3" would read as three failures.
            cand.verdict, cand.failure = "no_new_coverage", f"duplicate of {ledger.seen[key]}"
            cand.runs_total = 0
            results[i] = cand
            continue
        ledger.seen[key] = f"candidate {sub.name}"
        ledger.counter += 1
        module = f"test_gen_c{ledger.counter:04d}"
        (cand_dir / f"{module}.py").write_text(sub.code, encoding="utf-8")
        modules[i] = module
        results[i] = cand
    if modules:
        crashed = await _run_batch(submissions, modules, results, runner, ledger, runs)
        if crashed and len(modules) > 1:
            # One candidate took pytest down (os._exit, segfault, memory): judge each alone.
            for i, module in modules.items():
                await _run_batch(submissions, {i: module}, results, runner, ledger, runs)
    return [results[i] for i in range(len(submissions))]


def _validation_argv(
    rc: Path, plugins: list[str], workspace: Path, junit: Path, order: list[str],
    override: list[str],
) -> list[str]:
    """`coverage run -m pytest` on the candidates, inside the project's own configuration."""
    return [
        "-m",
        "coverage",
        "run",
        f"--rcfile={rc}",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        # Validation measures coverage itself: a project's pytest-cov would fight
        # it for the tracer. Its --cov options are then refused and dropped.
        "-p",
        "no:pytest_cov",
        *plugins,
        "--continue-on-collection-errors",
        *pinned_args(workspace),
        *override,
        f"--junitxml={junit}",
        *[f"{CANDIDATE_DIR}/{m}.py" for m in order],
    ]


async def _run_batch(
    submissions: list[Submission],
    modules: dict[int, str],
    results: dict[int, Candidate],
    runner: SandboxRunner,
    ledger: Ledger,
    runs: int,
) -> bool:
    """Run one batch and set verdicts; True when the pytest process itself failed."""
    workspace = runner.workspace
    files = {submissions[i].target.file for i in modules}
    tag = min(modules.values())
    uses_hypothesis = any("hypothesis" in submissions[i].code for i in modules)
    outcomes: list[dict[str, RunOutcome]] = []
    coverages: list[dict[str, dict[str, set[int]]]] = []
    crash: str | None = None
    for run in range(runs):
        order = list(modules.values())
        if run % 2 == 1:
            order.reverse()
        rc = workspace / GEN_DIR / f"coveragerc-{tag}-{run}"
        data = workspace / GEN_DIR / f"coverage-{tag}-{run}"
        junit = workspace / GEN_DIR / f"junit-{tag}-{run}.xml"
        for stale in (data, junit):  # a singleton re-run reuses the batch's names
            stale.unlink(missing_ok=True)
        include = ",".join(str(workspace / f) for f in sorted(files))
        rc.write_text(
            f"[run]\nbranch = True\ndata_file = {data}\ninclude = {include}\n",
            encoding="utf-8",
        )
        # Hypothesis' pytest plugin costs ~1 s of imports per run; load it only when used.
        plugins = [] if uses_hypothesis else ["-p", "no:hypothesispytest"]
        argv = _validation_argv(rc, plugins, workspace, junit, order, runner.pytest_override)
        result = await runner.run(argv)
        if result.exit_code == USAGE_ERROR and not runner.pytest_override:
            fixed = neutralized(workspace, result.stdout + result.stderr)
            if fixed is not None:
                runner.pytest_override, dropped = fixed
                runner.notes.append(neutralized_note(dropped))
                result = await runner.run(_validation_argv(rc, plugins, workspace, junit, order,
                                                           runner.pytest_override))
        if result.cancelled:
            crash = "cancelled"
            break
        parsed = _parse_junit(junit, list(modules.values()))
        if not parsed:
            tail = (result.stdout + "\n" + result.stderr)[-EXCERPT:]
            crash = (
                "validation run timed out"
                if result.timed_out
                else f"pytest did not report (exit {result.exit_code}): {tail}"
            )
            break
        outcomes.append(parsed)
        coverages.append(_coverage_by_module(data, workspace, files))
    for i, module in modules.items():
        cand = results[i]
        sub = submissions[i]
        if crash is not None:
            cand.verdict, cand.failure = "error", crash[-EXCERPT:]
            continue
        per_run = [o.get(module, RunOutcome(False, False, "no test ran")) for o in outcomes]
        cand.runs_passed = sum(1 for o in per_run if o.passed and o.ran)
        failure = next((o.failure for o in per_run if o.failure), None)
        cand.failure = failure
        covered_runs = [c.get(module, {}).get(sub.target.file, set()) for c in coverages]
        covered = set.intersection(*covered_runs) if covered_runs else set()
        own = covered & set(sub.target.lines)
        cand.target_lines_covered = sorted(own)
        if not any(o.ran for o in per_run):
            cand.verdict = "error"
        elif cand.runs_passed == 0:
            cand.verdict = "failed"
        elif cand.runs_passed < len(per_run):
            cand.verdict = "flaky"
        else:
            already = ledger.covered.get(sub.target.file, set())
            new = own - already
            cand.new_lines_covered = sorted(new)
            if new:
                cand.verdict = "accepted"
                cand.failure = None
                for c in coverages:
                    for f, lines in c.get(module, {}).items():
                        ledger.covered.setdefault(f, set()).update(
                            lines & covered if f == sub.target.file else lines
                        )
            else:
                cand.verdict = "no_new_coverage"
    return crash is not None and crash != "cancelled"
