"""collect_tests matches what `pytest --collect-only -q` prints in the project."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from assay.runner import CollectionError, collect_tests
from assay.sandbox import Limits
from tests.worker.test_runner import _project


def test_collect_equals_direct_pytest(base_python: Path, scratch: Path) -> None:
    project = _project(scratch / "project")
    ids = asyncio.run(collect_tests(project, base_python, scratch / "ws", Limits())).nodeids
    copy = scratch / "direct"
    shutil.copytree(project, copy)
    out = subprocess.run([str(base_python), "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider"], cwd=copy, capture_output=True, text=True)
    direct = [line for line in out.stdout.splitlines() if "::" in line]
    assert ids == direct and len(ids) == 6


def test_a_module_that_fails_to_collect_costs_only_its_own_tests(
    base_python: Path, scratch: Path
) -> None:
    project = _project(scratch / "project")
    (project / "tests" / "test_broken.py").write_text("import does_not_exist_anywhere\n")
    found = asyncio.run(collect_tests(project, base_python, scratch / "ws", Limits()))
    assert len(found.nodeids) == 6  # the rest of the suite, as without the broken module
    [issue] = found.errors
    assert issue.path == "tests/test_broken.py" and "does_not_exist_anywhere" in issue.error


def test_pytest_failing_as_a_whole_is_an_error(base_python: Path, scratch: Path) -> None:
    project = _project(scratch / "project")
    (project / "conftest.py").write_text("import does_not_exist_anywhere\n")
    with pytest.raises(CollectionError, match="does_not_exist_anywhere"):
        asyncio.run(collect_tests(project, base_python, scratch / "ws", Limits()))
