"""How a plan's tests are cut into jobs.

Every job is a pytest process, and pytest collects each module it is asked about in
full — every function, every parametrization — whatever part of it the job runs.
Fixed batches of 200 made a plan cost its collection once per batch: a module of
100,000 parametrized cases was collected 500 times (quadratic in the suite's size),
and a plan of `packaging`'s 27,000 tests took 15 times what its developers' pytest
does.

So a plan is cut into jobs of about `total / (2 * slots)` tests (two per executor slot,
so one slow job does not leave a slot idle), never smaller than `min_size`, and:

- a module that fits in a job is never cut: jobs close where a module would not fit;
- a module larger than a job is cut into at most `slots` parts, whatever the job size:
  every part collects the whole module, so a part more than the slots can run at once
  only adds a collection (a module of 100,000 cases in four parts on two slots paid
  two collections of 100,000 more than in two parts, about a third of bare pytest's
  time for the module);
- test cases with their own code (one file each) are cut anywhere.

Progress is still live (the runner streams each result as it finishes), and a job's
wall clock grows with its size (see `job_wall_seconds`), while each test keeps its own
timeout.
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
    """`items` in jobs of at most `batch_size(...)` (a large module's parts aside), grouped
    by module in first-seen order."""
    by_module: dict[str, list[T]] = {}
    for item in items:
        by_module.setdefault(module_of(item), []).append(item)
    size = batch_size(len(items), slots, min_size)
    jobs: list[list[T]] = []
    current: list[T] = []
    for module, group in by_module.items():
        if module and len(group) > size:
            parts = min(max(1, slots), math.ceil(len(group) / size))
            step = math.ceil(len(group) / parts)
            jobs.extend(group[i : i + step] for i in range(0, len(group), step))
            continue
        if module and current and len(current) + len(group) > size:
            jobs.append(current)
            current = []
        for item in group:  # code items (module "") fill the job and go on in the next
            current.append(item)
            if len(current) == size:
                jobs.append(current)
                current = []
    if current:
        jobs.append(current)
    return jobs


def largest_first(jobs: Sequence[Sequence[T]]) -> list[int]:
    """The order to start `jobs` in (their indices): the largest first, ties in plan order.

    The slots take jobs in the order they are started, and a plan ends with its last
    job: started last, the largest would run alone at the end while the other slots
    sit idle (humanize's big module, last in file order, took a third of its plan).
    """
    return sorted(range(len(jobs)), key=lambda n: -len(jobs[n]))


def job_wall_seconds(job_timeout_s: float, tests: int, min_size: int) -> float:
    """A job's wall clock: the configured one per `min_size` tests it holds."""
    return job_timeout_s * max(1, math.ceil(tests / max(1, min_size)))
