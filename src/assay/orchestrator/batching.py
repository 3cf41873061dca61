"""How a plan's tests are cut into jobs.

Every job is a pytest process, and pytest collects each module it is asked about in
full — every function, every parametrization — whatever part of it the job runs.
Fixed batches of 200 made a plan cost its collection once per batch: a module of
100,000 parametrized cases was collected 500 times (quadratic in the suite's size),
and a plan of `packaging`'s 27,000 tests took 15 times what its developers' pytest
does.

So a plan is cut into about `2 * slots` jobs (two per executor slot, so one slow job
does not leave a slot idle), never smaller than `min_size` tests, and a module's tests
stay together in as few jobs as possible. Progress is still live (the runner streams
each result as it finishes), and a job's wall clock grows with its size (see
`job_wall_seconds`), while each test keeps its own timeout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, TypeVar


class Batchable(Protocol):
    @property
    def nodeid(self) -> str | None: ...


T = TypeVar("T", bound=Batchable)

JOBS_PER_SLOT = 2


def module_of(item: Batchable) -> str:
    """The file a reference item lives in; "" for test cases with their own code."""
    return (item.nodeid or "").split("::", 1)[0]


def batch_size(total: int, slots: int, min_size: int) -> int:
    return max(1, min_size, math.ceil(total / max(1, slots * JOBS_PER_SLOT)))


def plan_batches(items: Sequence[T], slots: int, min_size: int) -> list[list[T]]:
    """`items` in jobs of `batch_size(...)`, grouped by module in first-seen order."""
    by_module: dict[str, list[T]] = {}
    for item in items:
        by_module.setdefault(module_of(item), []).append(item)
    ordered = [item for group in by_module.values() for item in group]
    size = batch_size(len(ordered), slots, min_size)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def job_wall_seconds(job_timeout_s: float, tests: int, min_size: int) -> float:
    """A job's wall clock: the configured one per `min_size` tests it holds."""
    return job_timeout_s * max(1, math.ceil(tests / max(1, min_size)))
