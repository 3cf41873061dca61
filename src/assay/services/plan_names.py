"""Plan names that say what was selected: "tags: smoke, api", "3 tests: test_a, …".

A plan created without a name gets one from what it runs, so a list of plans reads
as a list of intentions, not of "5 test(s)". Names fit the column (200 characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

NAME_MAX = 200
SHOWN = 2
"""Tests named in a plan of several before the rest is "…"."""


class Named(Protocol):
    @property
    def reference(self) -> str | None: ...

    @property
    def title(self) -> str: ...


def fit(name: str, limit: int = NAME_MAX) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def short_test_name(case: Named) -> str:
    """`tests/test_calc.py::test_add` reads as `test_add`; a case of its own by its title."""
    if case.reference:
        return case.reference.rsplit("::", 1)[-1]
    return case.title


def tests_name(cases: Sequence[Named]) -> str:
    """`test_add` for one test; `3 tests: test_add, test_div, …` for more."""
    names = [short_test_name(c) for c in cases[:SHOWN]]
    if len(cases) == 1:
        return fit(names[0])
    more = ", …" if len(cases) > SHOWN else ""
    return fit(f"{len(cases)} tests: {', '.join(names)}{more}")


def selection_name(
    *,
    tags: Sequence[str] = (),
    status: Sequence[str] = (),
    priority: Sequence[str] = (),
    origin: Sequence[str] = (),
    count: int,
) -> str:
    """`tags: smoke, api · 12 tests`; `all active tests · 40 tests` for no criteria."""
    parts = []
    if tags:
        parts.append(f"tags: {', '.join(tags)}")
    if priority:
        parts.append(f"priority: {', '.join(priority)}")
    if origin:
        parts.append(f"origin: {', '.join(origin)}")
    if list(status) != ["active"]:
        parts.append(f"status: {', '.join(status) or 'any'}")
    what = " · ".join(parts) if parts else "all active tests"
    return fit(f"{what} · {count} test{'' if count == 1 else 's'}")


def rerun_name(source: str, failed_only: bool) -> str:
    """`rerun of nightly`, `rerun of failed in nightly`."""
    return fit(f"rerun of {'failed in ' if failed_only else ''}{source}")
