"""The built-in engine end to end: real sandbox, real pytest, real coverage."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from assay.generation.service import GenerationRequest, GenerationResult, generate
from assay.sandbox import Limits

from .conftest import PRICING_AFTER, PRICING_BEFORE, make_diff, write_project

LIMITS = Limits(wall_seconds=120, cpu_seconds=120)


def run_generation(
    request: GenerationRequest, project: Path, python: Path, workspaces: Path
) -> tuple[GenerationResult, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []

    async def on_progress(event: dict[str, Any]) -> None:
        events.append(event)

    result = asyncio.run(
        generate(
            request,
            project_dir=project,
            python=python,
            workspaces_dir=workspaces,
            limits=LIMITS,
            on_progress=on_progress,
        )
    )
    return result, events


def test_diff_touching_two_functions_gives_stable_accepted_tests_for_both(
    project: Path, env_python: Path, workspaces: Path, scratch: Path
) -> None:
    diff = make_diff("shop/pricing.py", PRICING_BEFORE, PRICING_AFTER)
    result, events = run_generation(
        GenerationRequest(mode="diff", diff=diff), project, env_python, workspaces
    )

    assert result.errors == []
    accepted = result.accepted
    assert {c.target for c in accepted} == {"shop.pricing:apply_discount", "shop.pricing:slugify"}
    for target in result.targets:
        assert result.coverage[target.name]["missing"] == [], result.coverage
    for cand in accepted:
        assert cand.runs_passed == cand.runs_total == 3
        assert cand.new_lines_covered
        assert re.fullmatch(r"test_[a-z0-9_]+", cand.name)
        assert f"def {cand.name}(" in cand.code
    assert "test_slugify_returns_n_a_for_empty_string" in {c.name for c in accepted}
    assert events[0]["type"] == "generation.targets"
    verdicts = [e["candidate"]["verdict"] for e in events if e["type"] == "generation.candidate"]
    assert verdicts.count("accepted") == len(accepted)

    # The accepted modules, as saved, pass 10 runs in a row from the project root.
    after = write_project(scratch / "after", PRICING_AFTER)
    (after / "generated").mkdir()
    for i, cand in enumerate(accepted):
        (after / "generated" / f"test_generated_{i}.py").write_text(cand.code)
    plugins = [] if any("hypothesis" in c.code for c in accepted) else ["-p", "no:hypothesispytest"]
    for _ in range(10):
        run = subprocess.run(
            [
                str(env_python),
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                *plugins,
                "generated",
            ],
            cwd=after,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"{len(accepted)} passed" in run.stdout


NONDETERMINISTIC = textwrap.dedent(
    """\
    import os
    import random
    import time
    import uuid


    def shutdown(code: int) -> None:
        os._exit(3)


    def make_token(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex}"


    def stamp() -> float:
        return time.time() + random.random()


    def roll(sides: int) -> int:
        if sides < 1:
            raise ValueError("a die needs at least one side")
        return random.randint(1, sides)
    """
)


# What NONDETERMINISTIC's functions return: which calls have one possible value.
VARYING = {"make_token", "stamp", "roll"}


def _deterministic(call: ast.Call) -> bool:
    """Only `roll(1)` (a one-sided die) has a single possible result among VARYING."""
    if not (isinstance(call.func, ast.Name) and call.func.id == "roll") or call.keywords:
        return False
    try:
        return [ast.literal_eval(a) for a in call.args] == [1]
    except ValueError:
        return False


def asserted_varying_values(code: str) -> list[str]:
    """Assertions that compare the result of a varying call with a value.

    `result = f(...)` followed by `assert result == ...` counts as asserting `f(...)`.
    Type checks (`isinstance`) and `pytest.raises` are not value assertions.
    """
    tree = ast.parse(code)
    bound: dict[str, ast.Call] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            bound[node.targets[0].id] = node.value
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        for cmp in (n for n in ast.walk(node.test) if isinstance(n, ast.Compare)):
            if not any(isinstance(op, ast.Eq | ast.NotEq | ast.Is | ast.IsNot) for op in cmp.ops):
                continue
            for side in (cmp.left, *cmp.comparators):
                call = bound.get(side.id) if isinstance(side, ast.Name) else side
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id in VARYING
                    and not _deterministic(call)
                ):
                    found.append(ast.unparse(node))
    return found


def rerun_many_times(
    env_python: Path,
    root: Path,
    accepted: list[Any],
    support_files: dict[str, str],
    processes: int = 5,
    repeats: int = 20,
) -> None:
    """Run the accepted tests as saved, `processes` x `repeats` times; all must pass.

    Each process has its own PYTHONHASHSEED and `random` state; inside one, a conftest
    runs every test `repeats` times with `random` re-seeded before each. A test that
    pinned a value that `roll(3)` returned by chance fails a run with probability 2/3,
    so it survives 100 runs with probability 3^-100.
    """
    root.mkdir()
    for name, text in support_files.items():
        (root / name).write_text(text)
    (root / "generated").mkdir()
    for i, cand in enumerate(accepted):
        (root / "generated" / f"test_generated_{i}.py").write_text(cand.code)
    (root / "generated" / "conftest.py").write_text(
        textwrap.dedent(
            f"""\
            import random

            import pytest


            @pytest.fixture(autouse=True)
            def _rerun(request):
                random.seed()  # fresh from the OS: every repeat draws differently


            def pytest_generate_tests(metafunc):
                metafunc.parametrize("_rerun", range({repeats}), indirect=True)
            """
        )
    )
    plugins = [] if any("hypothesis" in c.code for c in accepted) else ["-p", "no:hypothesispytest"]
    command = [str(env_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugins]
    for seed in range(1, processes + 1):
        run = subprocess.run(
            [*command, "generated"],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": str(seed * 7919)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"{len(accepted) * repeats} passed" in run.stdout, run.stdout


def test_nondeterministic_outputs_are_never_asserted(
    project: Path, env_python: Path, workspaces: Path, scratch: Path
) -> None:
    """What the engine promises for code whose results vary: no accepted test ever fails a
    rerun, and no varying value is ever asserted (only types, and deterministic branches).
    Which candidates are accepted is up to validation and is not asserted here."""
    request = GenerationRequest(mode="function", source=NONDETERMINISTIC)
    result, _ = run_generation(request, project, env_python, workspaces)

    assert result.errors == []
    assert result.support_files == {"assay_snippet.py": NONDETERMINISTIC}
    assert any("different results between runs" in n for n in result.notes)
    # No candidate, accepted or not, pins a varying value (or a uuid it once saw).
    for cand in result.candidates:
        assert asserted_varying_values(cand.code) == [], cand.code
        assert not re.search(r"[0-9a-f]{32}", cand.code), cand.code
    # `shutdown` kills the probe process: it gets no test, the probe resumes after it.
    assert {c.target.split(":")[1] for c in result.candidates} <= VARYING
    accepted = result.accepted
    assert accepted, [(c.name, c.verdict, c.failure) for c in result.candidates]
    rerun_many_times(env_python, scratch / "rerun", accepted, result.support_files)
    # roll's error branch is deterministic and is pinned, with its message.
    assert any(
        "pytest.raises(ValueError, match='a die needs at least one side')" in c.code
        for c in result.candidates
        if c.target.endswith(":roll")
    )


def test_method_target_builds_instance_through_constructor(
    project: Path, env_python: Path, workspaces: Path
) -> None:
    request = GenerationRequest(mode="function", target="shop.pricing:Cart.add")
    result, _ = run_generation(request, project, env_python, workspaces)

    accepted = result.accepted
    assert accepted, [(c.name, c.verdict, c.failure) for c in result.candidates]
    assert all("cart = Cart(" in c.code for c in accepted)
    assert result.coverage["shop.pricing:Cart.add"]["missing"] == []
    assert any(
        "pytest.raises(ValueError, match='qty must be positive')" in c.code for c in accepted
    )


def test_property_test_is_kept_when_it_reaches_lines_examples_do_not(
    project: Path, env_python: Path, workspaces: Path
) -> None:
    source = (
        "def shout(text: str) -> str:\n"
        "    if any(ord(ch) > 127 for ch in text):\n"
        '        return "non-ascii"\n'
        "    return text.upper()\n"
    )
    request = GenerationRequest(mode="function", source=source, target="shout")
    result, _ = run_generation(request, project, env_python, workspaces)
    kinds = {(c.kind, c.verdict) for c in result.candidates}
    assert ("example", "accepted") in kinds
    [prop] = [c for c in result.candidates if c.kind == "property"]
    assert prop.verdict == "accepted", prop.failure
    assert "@given(text=st.text())" in prop.code
    assert "derandomize=True" in prop.code
    assert result.coverage["assay_snippet:shout"]["missing"] == []


def test_a_class_under_an_addopts_that_needs_an_undeclared_plugin_still_validates(
    project: Path, env_python: Path, workspaces: Path
) -> None:
    """The project's developers have pytest-cov and xdist; this environment has neither."""
    (project / "pytest.ini").write_text(
        "[pytest]\naddopts = --cov=shop --no-cov-on-fail -n auto\n")
    result, _ = run_generation(
        GenerationRequest(mode="function", target="shop.pricing:Cart.add"), project, env_python,
        workspaces)
    assert result.errors == []
    assert result.accepted, [(c.verdict, c.failure) for c in result.candidates]
    assert any("refused --cov=shop --no-cov-on-fail -n auto" in n for n in result.notes), \
        result.notes
