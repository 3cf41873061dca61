"""Primary keys: unguessable, and in the order they were made (per millisecond)."""

from __future__ import annotations

import time

from assay.db.base import id_prefix, new_id


def test_an_id_starts_with_the_milliseconds_it_was_made_in() -> None:
    before = time.time_ns()
    made = new_id()
    after = time.time_ns()
    assert len(made) == 32 and int(made, 16) >= 0
    assert id_prefix(before) <= made[:12] <= id_prefix(after)


def test_later_milliseconds_sort_later_and_the_rest_is_random() -> None:
    assert id_prefix(1_000_000) < id_prefix(2_000_000) < id_prefix(10**18)
    assert len(id_prefix(10**18)) == 12  # good until the year 10889
    assert len({new_id()[12:] for _ in range(1000)}) == 1000
