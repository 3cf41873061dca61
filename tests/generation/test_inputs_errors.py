"""Bad requests become GenerationInputError (HTTP 422) before any slow work."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.generation.errors import GenerationInputError
from assay.generation.model import GenerationRequest
from assay.generation.targets import plan_diff, validate_request

from .conftest import PRICING_AFTER, PRICING_BEFORE, make_diff, write_project


def diff_request(diff: str) -> GenerationRequest:
    return GenerationRequest(mode="diff", diff=diff)


def test_text_that_is_not_a_diff_is_rejected(project: Path) -> None:
    with pytest.raises(GenerationInputError, match="not a unified diff"):
        validate_request(diff_request("please write tests for my shop"), project)


def test_empty_diff_is_rejected(project: Path) -> None:
    with pytest.raises(GenerationInputError, match="empty"):
        validate_request(diff_request("  \n"), project)


def test_diff_without_python_changes_is_rejected(project: Path) -> None:
    diff = make_diff("README.md", "hello\n", "hello world\n")
    with pytest.raises(GenerationInputError, match=r"no Python file \(only README.md\)"):
        validate_request(diff_request(diff), project)


def test_diff_that_does_not_apply_names_file_and_hunk(project: Path) -> None:
    other = PRICING_BEFORE.replace("price * (100 - percent)", "price * (100.0 - percent)")
    diff = make_diff(
        "shop/pricing.py",
        other,
        PRICING_AFTER.replace("price * (100 - percent)", "price * (100.0 - percent)"),
    )
    with pytest.raises(GenerationInputError) as err:
        validate_request(diff_request(diff), project)
    message = str(err.value)
    assert "does not apply" in message
    assert "shop/pricing.py hunk #1 (@@ -" in message


def test_diff_already_in_the_tree_is_accepted_as_is(scratch: Path) -> None:
    project = write_project(scratch / "applied", PRICING_AFTER)
    diff = make_diff("shop/pricing.py", PRICING_BEFORE, PRICING_AFTER)
    validate_request(diff_request(diff), project)
    plan = plan_diff(diff_request(diff), project, write=True)
    assert (project / "shop/pricing.py").read_text() == PRICING_AFTER
    assert [t.name for t in plan.targets] == ["shop.pricing:apply_discount", "shop.pricing:slugify"]


def test_diff_maps_hunks_to_functions_and_notes_ignored_files(project: Path) -> None:
    diff = make_diff("shop/pricing.py", PRICING_BEFORE, PRICING_AFTER) + make_diff(
        "docs/notes.txt", "a\n", "b\n"
    )
    plan = plan_diff(diff_request(diff), project, write=True)
    assert (project / "shop/pricing.py").read_text() == PRICING_AFTER
    by_name = {t.name: t.lines for t in plan.targets}
    assert by_name == {"shop.pricing:apply_discount": [12, 13], "shop.pricing:slugify": [21, 22]}
    assert "ignored non-Python file docs/notes.txt" in plan.notes


def test_deleted_function_is_skipped_with_a_note(project: Path) -> None:
    start = PRICING_BEFORE.index("def slugify")
    end = PRICING_BEFORE.index("class Cart")
    after = PRICING_BEFORE[:start] + PRICING_BEFORE[end:]
    plan = plan_diff(
        diff_request(make_diff("shop/pricing.py", PRICING_BEFORE, after)), project, write=True
    )
    assert any("deleted function slugify" in n for n in plan.notes)
    assert all("slugify" not in t.name for t in plan.targets)


def test_syntax_error_in_source_reports_line_and_column(project: Path) -> None:
    source = "def ok(x):\n    return x\n\ndef broken(:\n    pass\n"
    with pytest.raises(GenerationInputError, match=r"line 4, column 12"):
        validate_request(GenerationRequest(mode="function", source=source), project)


def test_unknown_target_lists_closest_names(project: Path) -> None:
    request = GenerationRequest(mode="function", target="shop.pricing:aply_discount")
    with pytest.raises(GenerationInputError) as err:
        validate_request(request, project)
    assert "closest names: shop.pricing:apply_discount" in str(err.value)


def test_unknown_method_lists_closest_methods(project: Path) -> None:
    request = GenerationRequest(mode="function", target="shop.pricing:Cart.ad")
    with pytest.raises(GenerationInputError, match=r"shop\.pricing:Cart\.add"):
        validate_request(request, project)


def test_function_mode_needs_target_or_source(project: Path) -> None:
    with pytest.raises(GenerationInputError, match="needs `target`"):
        validate_request(GenerationRequest(mode="function"), project)


def test_a_whole_module_targets_its_public_functions_and_methods(project: Path) -> None:
    from assay.generation.targets import plan_function

    plan = plan_function(GenerationRequest(mode="function", target="shop.pricing"), project)
    assert [t.name for t in plan.targets] == [
        "shop.pricing:apply_discount",
        "shop.pricing:slugify",
        "shop.pricing:Cart.add",
    ]


def test_new_file_in_diff_is_created_and_targeted(project: Path) -> None:
    new = "def double(x: int) -> int:\n    return 2 * x\n"
    diff = (
        "diff --git a/shop/extra.py b/shop/extra.py\nnew file mode 100644\n"
        "--- /dev/null\n+++ b/shop/extra.py\n@@ -0,0 +1,2 @@\n"
        + "".join(f"+{line}\n" for line in new.splitlines())
    )
    plan = plan_diff(diff_request(diff), project, write=True)
    assert (project / "shop/extra.py").read_text() == new
    assert [(t.name, t.lines) for t in plan.targets] == [("shop.extra:double", [2])]


def test_pure_deletion_targets_the_statements_around_the_gap(project: Path) -> None:
    after = PRICING_BEFORE.replace(
        '    while "--" in cleaned:\n        cleaned = cleaned.replace("--", "-")\n', ""
    )
    plan = plan_diff(
        diff_request(make_diff("shop/pricing.py", PRICING_BEFORE, after)), project, write=True
    )
    [target] = plan.targets
    assert target.name == "shop.pricing:slugify"
    assert target.lines == [16, 17]  # `cleaned = ...` before the gap, `return` after it
