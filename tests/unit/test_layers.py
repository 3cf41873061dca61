"""The direction of imports between Assay's layers (docs/architecture.md, "Layers").

Only the composition root (`assay.api`, and `assay.cli` which starts it) may know the
API layer; the orchestrator, services and workers get what they use passed in. A
Celery worker runs the runner and the contracts, never the orchestrator that sends
it work. Checked on the source, so a new import that breaks a rule fails here
before anything else notices.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "assay"

# (package whose modules are checked, packages they must not import)
RULES = [
    ("contracts", ("assay.api", "assay.cli", "assay.orchestrator", "assay.services",
                   "assay.worker", "assay.db", "assay.runner")),
    ("orchestrator", ("assay.api", "assay.cli")),
    ("services", ("assay.api", "assay.cli")),
    ("worker", ("assay.api", "assay.cli", "assay.orchestrator", "assay.services",
                "assay.db")),
    ("runner", ("assay.api", "assay.cli", "assay.orchestrator", "assay.services",
                "assay.worker", "assay.db")),
    ("environments", ("assay.api", "assay.cli", "assay.orchestrator", "assay.services",
                      "assay.worker", "assay.db")),
    ("sandbox", ("assay.api", "assay.cli", "assay.orchestrator", "assay.services",
                 "assay.worker", "assay.db", "assay.runner")),
    ("generation", ("assay.api", "assay.cli", "assay.orchestrator", "assay.worker")),
    ("events", ("assay.api", "assay.cli", "assay.orchestrator", "assay.services")),
    ("db", ("assay.api", "assay.cli", "assay.orchestrator", "assay.services")),
]


def _runtime_imports(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports when it runs (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((SRC / package).rglob("*.py")):
        for line, module in _runtime_imports(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(SRC.parent)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize(("package", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_a_layer_imports_only_downwards(package: str, forbidden: tuple[str, ...]) -> None:
    assert (SRC / package).is_dir(), f"no package assay.{package}: update RULES"
    assert _violations(package, forbidden) == []


def test_the_check_sees_an_import_that_breaks_a_rule(tmp_path: Path) -> None:
    """The scan itself: a runtime import is found, a TYPE_CHECKING one is not."""
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from assay.api.context import AppContext\n"
                      "def f():\n    import assay.api.app\n")
    assert _runtime_imports(module)[-1] == (5, "assay.api.app")
    assert all(m != "assay.api.context" for _, m in _runtime_imports(module))
