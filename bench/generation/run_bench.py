"""Benchmark the built-in test generator on real PyPI modules, side by side with Pynguin.

For each module: generate tests for every public function and method with Assay's
built-in engine (real sandbox, real validation), then measure the accepted tests with
coverage.py --branch, exactly as Pynguin's output is measured. Pynguin runs in its own
Python 3.10 venv (it only works on 3.10) with the same time budget: its search time is
set to the wall time Assay took on that module.

Usage:
    .venv/bin/python bench/generation/run_bench.py [--skip-pynguin] [--modules humanize.number ...]

Writes bench/results/generation-<UTC timestamp>.json and prints a table. A benchmark, not
a test: it installs packages from PyPI and takes several minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assay.environments import EnvironmentPool, EnvSpec
from assay.generation.service import GenerationRequest, generate
from assay.generation.targets import plan_function
from assay.sandbox import Limits

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
UV = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))

MODULES = {
    "humanize.number": "humanize==4.17.0",
    "more_itertools.recipes": "more-itertools==11.2.1",
    "toolz.itertoolz": "toolz==1.2.0",
    "sortedcontainers.sortedlist": "sortedcontainers==2.4.0",
}
ADDOPTS = {"sortedcontainers.sortedlist": "--cov=sortedcontainers --no-cov-on-fail"}
"""Modules run as a project whose pytest addopts need a plugin (pytest-cov, installed):
the generator's validation must survive them (it disables pytest-cov and measures
coverage itself). Such a module gets a project directory of its own."""
PYNGUIN = "pynguin==0.48.0"


@dataclass
class ToolFigures:
    tool: str
    tests: int = 0
    candidates: int = 0
    accepted_share: float | None = None
    line_pct: float | None = None
    branch_pct: float | None = None
    wall_s: float = 0.0
    tests_passing: int | None = None
    note: str = ""


@dataclass
class ModuleFigures:
    module: str
    package: str
    functions: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    assay: ToolFigures = field(default_factory=lambda: ToolFigures("assay-builtin"))
    pynguin: ToolFigures = field(default_factory=lambda: ToolFigures("pynguin"))


def public_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    return path


def module_file(project: Path, module: str) -> Path:
    base = project / Path(*module.split("."))
    return base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"


def measure(python: Path, project: Path, module: str, tests_dir: Path) -> tuple[float, float, int]:
    """(line %, branch %, passing tests) of the tests in `tests_dir` on `module`."""
    data = tests_dir / ".coverage"
    target = module_file(project, module)
    run = subprocess.run(
        [
            str(python),
            "-m",
            "coverage",
            "run",
            "--branch",
            f"--data-file={data}",
            f"--include={target}",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",  # measured alike for every tool, whatever the project's addopts
            f"--junitxml={tests_dir / 'junit.xml'}",
            str(tests_dir),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(project)},
    )
    report = tests_dir / "coverage.json"
    subprocess.run(
        [str(python), "-m", "coverage", "json", f"--data-file={data}", "-o", str(report)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    passing = 0
    junit = tests_dir / "junit.xml"
    if junit.exists():
        import xml.etree.ElementTree as ET

        for case in ET.parse(junit).getroot().iter("testcase"):
            if not any(child.tag in ("failure", "error", "skipped") for child in case):
                passing += 1
    if not report.exists():
        print(run.stdout[-2000:], run.stderr[-2000:])
        return 0.0, 0.0, passing
    totals = json.loads(report.read_text())["totals"]
    line = 100.0 * totals["covered_lines"] / max(1, totals["num_statements"])
    branch = 100.0 * totals["covered_branches"] / max(1, totals["num_branches"])
    return round(line, 1), round(branch, 1), passing


async def run_assay(
    module: str, project: Path, python: Path, work: Path, max_per_function: int
) -> tuple[ModuleFigures, list[str]]:
    figures = ModuleFigures(module=module, package=MODULES[module])
    request = GenerationRequest(mode="function", target=module, max_tests=0)
    started = time.monotonic()
    n_targets = len(
        plan_function(GenerationRequest(mode="function", target=module), project).targets
    )
    request.max_tests = max(1, n_targets * max_per_function)
    result = await generate(
        request,
        project_dir=project,
        python=python,
        workspaces_dir=public_dir(work / "workspaces"),
        limits=Limits(wall_seconds=1800, cpu_seconds=1800),
    )
    figures.assay.wall_s = round(time.monotonic() - started, 1)
    figures.functions = len(result.targets)
    for c in result.candidates:
        figures.verdicts[c.verdict] = figures.verdicts.get(c.verdict, 0) + 1
    accepted = result.accepted
    figures.assay.tests = len(accepted)
    figures.assay.candidates = len(result.candidates)
    if result.candidates:
        figures.assay.accepted_share = round(len(accepted) / len(result.candidates), 3)
    figures.assay.note = "; ".join(result.errors)[:300]
    return figures, [c.code for c in accepted]


def find_python310() -> Path | None:
    roots = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True)
        roots.append(out.stdout.strip())
    roots.append(os.path.expanduser("~/.pyenv"))
    for root in roots:
        for cand in sorted(glob.glob(f"{root}/versions/3.10*/bin/python3.10"), reverse=True):
            return Path(cand)
    found = shutil.which("python3.10")
    return Path(found) if found else None


def pynguin_venv(work: Path) -> Path | None:
    py310 = find_python310()
    if py310 is None:
        return None
    venv = work / "pynguin-venv"
    python = venv / "bin" / "python"
    if not (venv / "bin" / "pynguin").exists():
        subprocess.run([UV, "venv", "-q", "--python", str(py310), str(venv)], check=True)
        subprocess.run([UV, "pip", "install", "-q", "--python", str(python), PYNGUIN], check=True)
    return venv


def run_pynguin(
    venv: Path, module: str, project: Path, out: Path, budget_s: int
) -> tuple[float, str]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.monotonic()
    proc = subprocess.run(
        [
            str(venv / "bin" / "pynguin"),
            "--project-path",
            str(project),
            "--module-name",
            module,
            "--output-path",
            str(out),
            "--maximum-search-time",
            str(budget_s),
            "--maximum-mutation-time",
            "60",
            "--seed",
            "42",
            "--no-rich",
        ],
        capture_output=True,
        text=True,
        timeout=budget_s * 4 + 600,
        env={**os.environ, "PYNGUIN_DANGER_AWARE": "1"},
    )
    wall = round(time.monotonic() - started, 1)
    note = "" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr[-300:]}"
    return wall, note


def table(rows: list[ModuleFigures]) -> str:
    head = (
        f"{'module':24} {'tool':14} {'funcs':>5} {'tests':>5} {'cands':>5} {'acc%':>5} "
        f"{'line%':>6} {'branch%':>7} {'wall s':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        for t in (r.assay, r.pynguin):
            share = f"{100 * t.accepted_share:.0f}" if t.accepted_share is not None else "-"
            line = f"{t.line_pct:.1f}" if t.line_pct is not None else "-"
            branch = f"{t.branch_pct:.1f}" if t.branch_pct is not None else "-"
            lines.append(
                f"{r.module:24} {t.tool:14} {r.functions:>5} {t.tests:>5} {t.candidates or '-':>5} "
                f"{share:>5} {line:>6} {branch:>7} {t.wall_s:>7.1f}"
                + (f"  ({t.note[:60]})" if t.note else "")
            )
    return "\n".join(lines)


def install_target(project: Path, packages: list[str]) -> None:
    """The modules under test, as plain source files (the "project" Assay is pointed at)."""
    cmd = [UV, "pip", "install", "-q", "--no-deps", "--target", str(project), *packages]
    subprocess.run(cmd, check=True)
    for path in project.rglob("*"):
        path.chmod(path.stat().st_mode | 0o044 | (0o011 if path.is_dir() else 0))


async def lease_python(work: Path) -> Path:
    """A project environment from Assay's pool, plus hypothesis for property tests."""
    pool = EnvironmentPool(public_dir(work / "envs"))
    async with pool.lease(EnvSpec(requirements=["hypothesis", "pytest-cov"])) as env:
        return Path(env.python)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", nargs="*", default=list(MODULES))
    parser.add_argument("--skip-pynguin", action="store_true")
    parser.add_argument("--max-per-function", type=int, default=4)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "assay-bench-generation"
    )
    args = parser.parse_args()
    work = public_dir(args.work)
    project = public_dir(work / "project")
    packages = [MODULES[m] for m in args.modules if m not in ADDOPTS]
    if packages:
        install_target(project, packages)
    python = asyncio.run(lease_python(work))
    venv = None if args.skip_pynguin else pynguin_venv(work)
    rows: list[ModuleFigures] = []
    shared = project
    for module in args.modules:
        project = shared
        if module in ADDOPTS:
            project = public_dir(work / f"project-{module}")
            install_target(project, [MODULES[module]])
            (project / "pytest.ini").write_text(f"[pytest]\naddopts = {ADDOPTS[module]}\n")
        print(f"== {module}: assay built-in engine", flush=True)
        figures, codes = asyncio.run(
            run_assay(module, project, python, work, args.max_per_function)
        )
        tests_dir = work / "measure" / module / "assay"
        shutil.rmtree(tests_dir, ignore_errors=True)
        tests_dir.mkdir(parents=True)
        for i, code in enumerate(codes):
            (tests_dir / f"test_assay_{i:03d}.py").write_text(code)
        line, branch, passing = measure(python, project, module, tests_dir)
        figures.assay.line_pct, figures.assay.branch_pct = line, branch
        figures.assay.tests_passing = passing
        if args.skip_pynguin:
            figures.pynguin.note = "skipped (--skip-pynguin)"
        elif venv is None:
            figures.pynguin.note = "absent: no Python 3.10 found (pyenv versions/3.10*)"
            print("Pynguin needs CPython 3.10, none found: Pynguin column left empty", flush=True)
        else:
            print(f"== {module}: pynguin (search budget {figures.assay.wall_s:.0f} s)", flush=True)
            out = work / "measure" / module / "pynguin"
            wall, note = run_pynguin(venv, module, project, out, max(10, int(figures.assay.wall_s)))
            figures.pynguin.wall_s, figures.pynguin.note = wall, note
            tests = list(out.glob("test_*.py"))
            figures.pynguin.tests = sum(t.read_text().count("\ndef test_") for t in tests)
            if tests:
                line, branch, passing = measure(python, project, module, out)
                figures.pynguin.line_pct, figures.pynguin.branch_pct = line, branch
                figures.pynguin.tests_passing = passing
        rows.append(figures)
        print(table([figures]), flush=True)
    print()
    print(table(rows))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"generation-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "generated_at": stamp,
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                "modules": [asdict(r) for r in rows],
            },
            indent=2,
        )
    )
    print(f"\nwritten {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
