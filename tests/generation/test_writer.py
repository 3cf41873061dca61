"""How generated tests read: names after the behaviour, one assertion style per outcome."""

from __future__ import annotations

from assay.generation.inputs import describe_value
from assay.generation.model import TargetInfo
from assay.generation.writer import behaviour_test_name as make_name

TARGET = TargetInfo(
    name="pkg.text:slugify",
    module="pkg.text",
    qualname="slugify",
    file="pkg/text.py",
    kind="function",
    signature="(text: str) -> str",
    line_start=1,
    line_end=3,
    lines=[2],
)
METHOD = TargetInfo(
    name="pkg.shop:ShoppingCart.add_item",
    module="pkg.shop",
    qualname="ShoppingCart.add_item",
    file="pkg/shop.py",
    kind="method",
    signature="(self, name)",
    line_start=1,
    line_end=3,
    lines=[2],
)


def test_names_say_the_behaviour_and_the_input() -> None:
    label = describe_value("''")
    assert make_name(TARGET, "returns_empty_string", label) == (
        "test_slugify_returns_empty_string_for_empty_string"
    )
    assert make_name(TARGET, "raises_value_error", describe_value("-1")) == (
        "test_slugify_raises_value_error_for_negative"
    )
    assert make_name(METHOD, "returns_3", "") == "test_shopping_cart_add_item_returns_3"


def test_names_are_ascii_identifiers_of_bounded_length() -> None:
    name = make_name(TARGET, "returns_220_\u03bcf", "x" * 200)
    assert name.isidentifier() and name.isascii()
    assert len(name) <= 72


def test_values_are_described_in_words() -> None:
    assert describe_value("None") == "none"
    assert describe_value("0") == "zero"
    assert describe_value("[]") == "empty_list"
    assert describe_value("'  padded  '") == "padded_string"
    assert describe_value("100.0") == "100"
    assert describe_value("1234567") == "large_number"
