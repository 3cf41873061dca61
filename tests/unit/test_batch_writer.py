"""The result writer (assay.orchestrator.writer.BatchWriter): one transaction per burst.

Real transactions on a real SQLite file. A "blocked" op holds its batch's thread on a
threading.Event the test sets, so what arrives meanwhile is decided by the test, not by
timing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.db.engine import Database
from assay.db.models import Project
from assay.orchestrator.writer import MAX_BATCH, BatchWriter


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


def add_project(name: str) -> Callable[[Session], str]:
    def op(session: Session) -> str:
        session.add(Project(name=name, source={"type": "path", "path": "/x"}))
        session.flush()
        return name

    return op


def names(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(Project.name)))


def sessions_seen(log: list[int], value: str = "") -> Callable[[Session], str]:
    def op(session: Session) -> str:
        log.append(id(session))
        return value

    return op


def test_a_burst_is_written_in_one_transaction(db: Database) -> None:
    seen: list[int] = []

    async def main() -> None:
        writer = BatchWriter(db)
        writer.start()
        results = await asyncio.gather(
            *(writer.submit(sessions_seen(seen, f"r{n}")) for n in range(50))
        )
        assert results == [f"r{n}" for n in range(50)]  # each gets its own result, in order
        await writer.close()

    run(main)
    assert len(seen) == 50 and len(set(seen)) == 1


def test_what_arrives_during_a_commit_goes_in_the_next_batch(db: Database) -> None:
    seen: list[tuple[str, Session]] = []  # the sessions themselves: a freed id is reused
    entered, release = threading.Event(), threading.Event()

    def blocked(session: Session) -> str:
        seen.append(("first", session))
        entered.set()
        release.wait()
        return "first"

    def later(tag: str) -> Callable[[Session], str]:
        def op(session: Session) -> str:
            seen.append((tag, session))
            return tag

        return op

    async def main() -> None:
        writer = BatchWriter(db)
        writer.start()
        first = asyncio.create_task(writer.submit(blocked))
        await asyncio.to_thread(entered.wait)  # the first batch is committing now
        more = [asyncio.create_task(writer.submit(later(t))) for t in ("b", "c")]
        await asyncio.sleep(0)  # both are submitted (queued behind the first batch)
        assert not first.done()
        release.set()
        assert await first == "first"
        assert [await m for m in more] == ["b", "c"]
        await writer.close()

    run(main)
    sessions = dict(seen)
    assert sessions["b"] is sessions["c"] and sessions["b"] is not sessions["first"]


def test_a_failing_op_costs_only_itself(db: Database) -> None:
    def boom(session: Session) -> None:
        session.add(Project(name="half-written", source={}))
        session.flush()
        raise ValueError("bad result")

    async def main() -> None:
        writer = BatchWriter(db)
        writer.start()
        got = await asyncio.gather(
            writer.submit(add_project("a")), writer.submit(boom), writer.submit(add_project("b")),
            return_exceptions=True,
        )
        assert got[0] == "a" and got[2] == "b"
        assert isinstance(got[1], ValueError) and str(got[1]) == "bad result"
        await writer.close()

    run(main)
    assert names(db) == {"a", "b"}  # the failing op's own write was rolled back


def test_a_write_that_breaks_a_constraint_is_refused_alone(db: Database) -> None:
    async def main() -> None:
        writer = BatchWriter(db)
        writer.start()
        await writer.submit(add_project("taken"))
        got = await asyncio.gather(
            writer.submit(add_project("taken")), writer.submit(add_project("fresh")),
            return_exceptions=True,
        )
        assert isinstance(got[0], Exception) and got[1] == "fresh"
        await writer.close()

    run(main)
    assert names(db) == {"taken", "fresh"}


def test_close_writes_what_is_still_pending(db: Database) -> None:
    async def main() -> None:
        writer = BatchWriter(db)  # never started: only close() can write
        pending = [asyncio.create_task(writer.submit(add_project(n))) for n in ("x", "y")]
        await asyncio.sleep(0)
        await writer.close()
        assert await asyncio.gather(*pending) == ["x", "y"]

    run(main)
    assert names(db) == {"x", "y"}


def test_close_during_a_commit_answers_that_batch(db: Database) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(session: Session) -> str:
        entered.set()
        release.wait()
        return add_project("slow")(session)

    async def main() -> None:
        writer = BatchWriter(db)
        writer.start()
        task = asyncio.create_task(writer.submit(slow))
        await asyncio.to_thread(entered.wait)
        closing = asyncio.create_task(writer.close())
        await asyncio.sleep(0)
        release.set()
        await closing
        # Once close() returns, the batch is written and its submitter answered.
        try:
            assert task.done() and task.result() == "slow"
        finally:
            task.cancel()
        assert names(db) == {"slow"}

    run(main)


def test_a_backlog_is_written_in_capped_transactions(db: Database) -> None:
    """A writer that fell behind writes its backlog in transactions of at most
    MAX_BATCH ops, so no transaction holds the database for the whole backlog."""
    seen: list[Session] = []  # the sessions themselves: a freed id is reused

    def op(session: Session) -> None:
        seen.append(session)

    async def main() -> None:
        writer = BatchWriter(db)
        writer.start()
        await asyncio.gather(*(writer.submit(op) for _ in range(2 * MAX_BATCH + 10)))
        await writer.close()

    run(main)
    sizes = [sum(1 for s in seen if s is session) for session in
             {id(s): s for s in seen}.values()]
    assert sum(sizes) == 2 * MAX_BATCH + 10
    assert max(sizes) <= MAX_BATCH and len(sizes) >= 3
