"""Cutting a plan into jobs: few enough that collection is not paid per 200 tests,
enough to keep every slot busy, a module's tests together."""

from __future__ import annotations

from dataclasses import dataclass

from assay.orchestrator.batching import batch_size, job_wall_seconds, largest_first, plan_batches


@dataclass(frozen=True)
class Item:
    nodeid: str | None
    key: str = ""


def test_a_large_module_is_cut_into_one_job_per_slot_not_one_per_200_tests() -> None:
    """Each part collects the whole module: more parts than slots only add collections."""
    items = [Item(f"tests/test_big.py::test_case[{i}]") for i in range(100_000)]
    jobs = plan_batches(items, slots=2, min_size=200)
    assert sorted(len(j) for j in jobs) == [50_000] * 2
    assert [i for job in jobs for i in job] == items  # nothing lost, nothing twice


def test_a_large_plan_of_many_modules_becomes_about_two_jobs_per_slot() -> None:
    items = [Item(f"tests/test_m{m}.py::t[{i}]") for m in range(40) for i in range(500)]
    jobs = plan_batches(items, slots=2, min_size=200)
    assert sorted(len(j) for j in jobs) == [5_000] * 4
    assert [i for job in jobs for i in job] == items


def test_code_items_fill_jobs_of_the_batch_size() -> None:
    items = [Item(None, f"code-{i}") for i in range(1_000)]
    jobs = plan_batches(items, slots=2, min_size=100)
    assert [len(j) for j in jobs] == [250] * 4


def test_a_small_plan_stays_one_job_and_a_module_stays_together() -> None:
    items = [Item("tests/a.py::t1"), Item("tests/b.py::t1"), Item(None, "code-1"),
             Item("tests/a.py::t2")]
    [job] = plan_batches(items, slots=4, min_size=200)
    assert [i.nodeid for i in job] == ["tests/a.py::t1", "tests/a.py::t2",
                                       "tests/b.py::t1", None]


def test_a_module_that_fits_in_a_job_is_never_cut() -> None:
    items = [Item(f"m{m}.py::t{i}") for m in range(3) for i in range(300)]
    jobs = plan_batches(items, slots=1, min_size=100)
    assert batch_size(900, 1, 100) == 450
    assert [{i.nodeid.split("::")[0] for i in job if i.nodeid} for job in jobs] == [
        {"m0.py"}, {"m1.py"}, {"m2.py"}]


def test_a_bigger_job_gets_a_longer_wall_clock() -> None:
    assert job_wall_seconds(900.0, 150, 200) == 900.0
    assert job_wall_seconds(900.0, 25_000, 200) == 900.0 * 125


def test_the_largest_job_starts_first_and_ties_keep_plan_order() -> None:
    items = ([Item(f"tests/test_a.py::t{i}") for i in range(60)]
             + [Item(f"tests/test_b.py::t{i}") for i in range(60)]
             + [Item(f"tests/test_time.py::t{i}") for i in range(300)])
    jobs = plan_batches(items, slots=2, min_size=100)
    assert [len(j) for j in jobs] == [60, 150, 150, 60]  # the big module's parts in between
    order = largest_first(jobs)
    assert order == [1, 2, 0, 3]
    assert {i.nodeid.split("::")[0] for i in jobs[order[0]] if i.nodeid} == {"tests/test_time.py"}
