"""Fixtures for the generation tests: one real project environment per test session.

The sandbox runs code as an unprivileged uid, so every path it needs (environment,
workspaces) lives under a world-searchable folder, not pytest's private tmp dirs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.environments import EnvironmentPool, spec_for_project

PRICING_BEFORE = textwrap.dedent(
    '''\
    """Pricing helpers of a small shop."""


    def apply_discount(price: float, percent: int) -> float:
        """Price after a percentage discount.

        >>> apply_discount(100.0, 10)
        90.0
        """
        if percent < 0 or percent > 100:
            raise ValueError("percent must be between 0 and 100")
        return round(price * (100 - percent) / 100, 2)


    def slugify(text: str) -> str:
        cleaned = "".join(ch.lower() if ch.isalnum() else "-" for ch in text.strip())
        while "--" in cleaned:
            cleaned = cleaned.replace("--", "-")
        return cleaned.strip("-")


    class Cart:
        def __init__(self, owner: str) -> None:
            self.owner = owner
            self.items: list[tuple[str, int]] = []

        def add(self, name: str, qty: int = 1) -> int:
            if qty <= 0:
                raise ValueError("qty must be positive")
            self.items.append((name, qty))
            return len(self.items)
    '''
)

PRICING_AFTER = PRICING_BEFORE.replace(
    "    return round(price * (100 - percent) / 100, 2)",
    "    if percent == 100:\n        return 0.0\n"
    "    return round(price * (100 - percent) / 100, 2)",
).replace(
    '    return cleaned.strip("-")',
    '    if not cleaned:\n        return "n-a"\n    return cleaned.strip("-")',
)
assert PRICING_AFTER.count("\n") == PRICING_BEFORE.count("\n") + 4


def make_diff(path: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


def public_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def write_project(root: Path, pricing: str = PRICING_BEFORE) -> Path:
    (root / "shop").mkdir(parents=True, exist_ok=True)
    (root / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (root / "shop" / "pricing.py").write_text(pricing, encoding="utf-8")
    (root / "requirements.txt").write_text("hypothesis\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def env_python(env_cache: Path) -> Path:
    """The project's environment (pytest, coverage, hypothesis), built once per session.

    `env_cache` is the suite's shared, sandbox-reachable environment cache.
    """
    probe_project = write_project(public_dir("assay-gen-spec-"))
    spec = spec_for_project(probe_project)
    shutil.rmtree(probe_project, ignore_errors=True)

    async def lease() -> Path:
        async with EnvironmentPool(env_cache).lease(spec) as env:
            return Path(env.python)

    return asyncio.run(lease())


@pytest.fixture
def scratch() -> Iterator[Path]:
    root = public_dir("assay-gen-test-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def project(scratch: Path) -> Path:
    return write_project(scratch / "project")


@pytest.fixture
def workspaces(scratch: Path) -> Path:
    path = scratch / "workspaces"
    path.mkdir()
    os.chmod(path, 0o755)
    return path
