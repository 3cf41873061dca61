"""A project that is a folder of a git repository takes a diff from the repository's root.

Real repositories, made with git in a temp folder: `git diff` at the root names files
`examples/mylib/...`; Assay reads them relative to the project, and a diff that does
not apply says which path it named, which project file that is, and why.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from assay.generation.diff import repository_prefix
from assay.generation.errors import GenerationInputError
from assay.generation.model import GenerationRequest, TargetInfo
from assay.generation.symbols import list_symbols
from assay.generation.targets import plan_diff, validate_request
from assay.generation.validation import Ledger, Submission, validate

from .conftest import PRICING_AFTER, PRICING_BEFORE, write_project


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout


@pytest.fixture
def repo(scratch: Path) -> Path:
    """A repository whose folder examples/mylib is the project; its change not committed."""
    root = scratch / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("a repository\n")
    (root / "tools").mkdir()
    (root / "tools" / "helper.py").write_text("def helper():\n    return 1\n")
    write_project(root / "examples" / "mylib")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    (root / "examples" / "mylib" / "shop" / "pricing.py").write_text(PRICING_AFTER)
    (root / "tools" / "helper.py").write_text("def helper():\n    return 2\n")
    return root


def request(diff: str, prefix: str | None) -> GenerationRequest:
    return GenerationRequest(mode="diff", diff=diff, repository_prefix=prefix)


def test_the_prefix_is_the_projects_folder_in_its_repository(repo: Path, scratch: Path) -> None:
    assert repository_prefix(repo) == ""
    assert repository_prefix(repo / "examples" / "mylib") == "examples/mylib"
    outside = scratch / "plain"
    outside.mkdir()
    assert repository_prefix(outside) is None


def test_a_diff_from_the_repository_root_is_read_relative_to_the_project(
    repo: Path, scratch: Path
) -> None:
    diff = git(repo, "diff")
    assert "a/examples/mylib/shop/pricing.py" in diff and "a/tools/helper.py" in diff
    project = repo / "examples" / "mylib"
    git(repo, "stash", "-q")  # the project as committed: the diff's old version
    assert (project / "shop" / "pricing.py").read_text() == PRICING_BEFORE
    prefix = repository_prefix(project)
    validate_request(request(diff, prefix), project)

    # The generation applies it to a copy of the project (no .git there), as a job does.
    workspace = scratch / "workspace"
    shutil.copytree(project, workspace)
    plan = plan_diff(request(diff, prefix), workspace, write=True)
    assert (workspace / "shop" / "pricing.py").read_text() == PRICING_AFTER
    assert [t.name for t in plan.targets] == ["shop.pricing:apply_discount",
                                              "shop.pricing:slugify"]
    assert {t.file for t in plan.targets} == {"shop/pricing.py"}
    assert any("ignored tools/helper.py: outside the project" in n for n in plan.notes)


def test_without_the_mapping_the_refusal_says_where_the_paths_start(repo: Path) -> None:
    diff = git(repo, "diff", "--relative=examples/mylib")  # paths from the project
    project = repo / "examples" / "mylib"
    git(repo, "stash", "-q")
    validate_request(request(diff, "examples/mylib"), project)  # taken inside: as is

    root_diff = diff.replace("a/shop/", "a/elsewhere/shop/").replace("b/shop/",
                                                                     "b/elsewhere/shop/")
    with pytest.raises(GenerationInputError) as err:
        validate_request(request(root_diff, "examples/mylib"), project)
    message = str(err.value)
    assert "the diff names elsewhere/shop/pricing.py, which does not exist in the project" in (
        message)
    assert "examples/mylib/elsewhere/shop/pricing.py" in message


def test_a_diff_that_does_not_match_names_both_paths_and_why(repo: Path) -> None:
    diff = git(repo, "diff")
    project = repo / "examples" / "mylib"
    git(repo, "stash", "-q")
    (project / "shop" / "pricing.py").write_text(
        PRICING_BEFORE.replace("price * (100 - percent)", "price * (99 - percent)"))
    with pytest.raises(GenerationInputError) as err:
        validate_request(request(diff, "examples/mylib"), project)
    message = str(err.value)
    assert message.startswith(
        "the diff does not apply: the diff names examples/mylib/shop/pricing.py; relative to "
        "the project (the folder examples/mylib of its git repository) that is "
        "shop/pricing.py, whose lines do not match shop/pricing.py hunk #1 (@@ -"), message
    assert "neither the diff's old nor its new version" in message


def test_a_diff_of_files_outside_the_project_only_is_refused(repo: Path) -> None:
    diff = git(repo, "diff", "--", "tools")
    # Names no file of the project's folder: read as relative to the project, missing.
    with pytest.raises(GenerationInputError, match=r"tools/helper\.py, which does not exist"):
        validate_request(request(diff, "examples/mylib"), repo / "examples" / "mylib")


def test_suggestions_leave_out_the_projects_own_tests(scratch: Path) -> None:
    project = write_project(scratch / "p")
    (project / "tests").mkdir()
    (project / "tests" / "helpers.py").write_text("def make_cart():\n    pass\n")
    (project / "test_top.py").write_text("def test_top():\n    pass\n")
    (project / "shop" / "pricing_test.py").write_text("def test_p():\n    pass\n")
    (project / "conftest.py").write_text("def fixture_thing():\n    pass\n")
    files = {s.file for s in list_symbols(project)}
    assert files == {"shop/pricing.py"}


def test_a_duplicate_candidate_is_not_run_and_names_what_it_duplicates(scratch: Path) -> None:
    target = TargetInfo(name="shop.pricing:slugify", module="shop.pricing", qualname="slugify",
                        file="shop/pricing.py", kind="function", signature="(text)",
                        line_start=1, line_end=2, lines=[2])
    code = "def test_slug():\n    assert True\n"
    ledger = Ledger()
    ledger.add_existing({"# saved\n" + code: "test case 'slugs'"})
    runner: Any = SimpleNamespace(workspace=scratch)
    [cand] = asyncio.run(validate([Submission(target, "test_slug", code)], runner, ledger))
    assert cand.verdict == "no_new_coverage"
    assert cand.failure == "duplicate of test case 'slugs'"
    assert (cand.runs_passed, cand.runs_total) == (0, 0)
