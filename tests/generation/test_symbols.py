from __future__ import annotations

from pathlib import Path

from assay.generation.symbols import list_symbols


def test_list_symbols_gives_qualified_names_signatures_and_spans(project: Path) -> None:
    symbols = {s.qualified: s for s in list_symbols(project)}
    assert set(symbols) == {
        "shop.pricing:apply_discount",
        "shop.pricing:slugify",
        "shop.pricing:Cart.__init__",
        "shop.pricing:Cart.add",
    }
    add = symbols["shop.pricing:Cart.add"]
    assert add.kind == "method"
    assert add.signature == "(self, name: str, qty: int=1) -> int"
    assert (add.line_start, add.line_end) == (27, 31)
    assert add.file == "shop/pricing.py"


def test_list_symbols_filters_by_query_and_handles_src_layout(scratch: Path) -> None:
    pkg = scratch / "lib" / "src" / "tools"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "text.py").write_text(
        "def shout(s):\n    return s.upper()\n\ndef _quiet(s):\n    return s\n"
    )
    (scratch / "lib" / ".venv").mkdir()
    (scratch / "lib" / ".venv" / "junk.py").write_text("def shout_too():\n    pass\n")
    found = list_symbols(scratch / "lib", q="SHOUT")
    assert [s.qualified for s in found] == ["tools.text:shout"]
    assert found[0].to_dict()["signature"] == "(s)"
