"""The Celery executor's resend logic and the reply channel, without a broker or Redis.

Both ends are the real code: the orchestrator's `CeleryExecutor` (a real Celery app on
Celery's in-memory transport, `memory://`) with its `ReplyReader`, and the worker's
`Delivery`, which the tests drive as a worker would: it takes the job off the broker,
replies, beats, or goes silent. Only Redis, outside the product, is the in-memory
stand-in of tests/unit/fake_redis.py. Time is the virtual loop's: liveness ticks, alive
keys' expiry, the cancel grace and the hard limit take no real time, and the moment of
every send is exact (Celery's `after_task_publish` signal, taken on the loop's clock).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from celery import signals
from kombu import Connection
from sqlalchemy import select

import assay.orchestrator.celery_executor as celery_module
import assay.orchestrator.job_replies as replies_module
from assay.config import Settings
from assay.contracts import replies
from assay.contracts.jobs import ItemFinished, ItemStarted, JobItem, JobOutcome, JobSpec
from assay.db.engine import Database
from assay.db.models import Event, TestRun
from assay.environments import EnvironmentBuildError, EnvironmentPool, EnvSpec
from assay.orchestrator import results
from assay.orchestrator.celery_executor import (
    CANCEL_GRACE_S,
    HARD_LIMIT_MARGIN_S,
    LAPSED_CHECKS,
    MAX_RESENDS,
    CeleryExecutor,
    WorkerLostError,
)
from assay.orchestrator.job_replies import ReplyReader
from assay.sandbox import Limits
from assay.worker.celery_app import broker_priority, job_queue
from assay.worker.delivery import ALIVE_BEATS, Delivery, DeliveryInfo
from assay.worker.keys import JobKeys
from tests.unit.conftest import add_plan
from tests.unit.fake_redis import AsyncClient, FakeRedisServer, SyncClient
from tests.unit.virtual_time import VirtualMonotonic, VirtualTimeLoop, run_virtual

T = TypeVar("T")
HEARTBEAT_S = 1.0
WALL_S = 100.0


@dataclass
class PlanRef:
    """The two fields result writers need (as plan_execution passes them)."""

    id: str
    project_id: str


@dataclass
class Sent:
    at: float
    task_id: str
    spec: dict[str, Any]


class Cluster:
    """One orchestrator's executor, the broker between it and the workers, and Redis."""

    def __init__(self, loop: VirtualTimeLoop, tmp_path: Path) -> None:
        self.loop = loop
        tag = uuid.uuid4().hex[:10]
        self.redis = FakeRedisServer(clock=loop.time)
        self.settings = Settings(
            broker_url="memory://", redis_url="redis://127.0.0.1:1/0",  # never connected
            celery_queue=f"unit-{tag}", redis_prefix=f"unit-{tag}",
            job_heartbeat_seconds=HEARTBEAT_S, data_dir=tmp_path / "data",
            secret_key="unit-test-secret-key-0123456789abcdef",
            public_url="http://assay.invalid", _env_file=None,
        )
        self.executor = CeleryExecutor(self.settings)
        # Redis is outside the product: the executor talks to the in-memory stand-in.
        self.executor.redis = AsyncClient(self.redis)
        self.executor.replies = ReplyReader(
            self.executor.redis, self.settings.redis_prefix, self.executor.executor_id
        )
        self.pool = EnvironmentPool(tmp_path / "envs")
        self.tasks: list[asyncio.Future[Any]] = []
        self.sent: list[Sent] = []
        self._sent_changed = asyncio.Event()
        self.events: list[ItemStarted | ItemFinished] = []

    # -- the broker ----------------------------------------------------------------------
    def on_publish(self, sender: Any = None, headers: Any = None, body: Any = None,
                   routing_key: Any = None, **_: Any) -> None:
        """Celery's after_task_publish (in the sending thread: the virtual clock stands)."""
        if routing_key != self.settings.celery_queue:
            return
        args = body[0] if isinstance(body, tuple | list) else body["args"]
        self.sent.append(Sent(self.loop.time(), headers["id"], args[0]))
        self.loop.call_soon_threadsafe(self._sent_changed.set)

    async def until_sent(self, n: int) -> Sent:
        while len(self.sent) < n:
            self._sent_changed.clear()
            await self._sent_changed.wait()
        return self.sent[n - 1]

    def take(self) -> tuple[str, dict[str, Any]] | None:
        """What a worker gets from the broker: (task id, spec), or None when it is empty."""
        with Connection(self.settings.broker_url) as conn:
            message = job_queue(self.settings.celery_queue)(conn.default_channel).get(
                no_ack=True
            )
            if message is None:
                return None
            args = message.decode()[0]
            return message.headers["id"], args[0]

    # -- a worker ------------------------------------------------------------------------
    def worker(self, task_id: str, spec: dict[str, Any], redelivered: bool = False) -> Delivery:
        """The worker side of one delivery, as `assay.worker.task` builds it."""
        return Delivery(self.settings, SyncClient(self.redis), self.pool,
                        JobSpec.model_validate(spec),
                        DeliveryInfo(task_id=task_id, redelivered=redelivered))

    def start_delivery(self) -> Delivery:
        """A worker takes the next job off the broker and says it started."""
        got = self.take()
        assert got is not None, "nothing on the broker"
        delivery = self.worker(*got)
        delivery.reply(replies.Started(worker="w1", pid=1, task_id=got[0], redelivered=False))
        return delivery

    # -- the orchestrator ----------------------------------------------------------------
    async def on_event(self, event: ItemStarted | ItemFinished) -> None:
        self.events.append(event)

    def run(self, spec: JobSpec, cancel: asyncio.Event | None = None,
            on_event: Callable[[ItemStarted | ItemFinished], Coroutine[Any, Any, None]]
            | None = None) -> asyncio.Future[JobOutcome]:
        """The orchestrator runs the job on the executor (until it ends or the test does)."""
        return self.spawn(
            self.executor.run(spec, on_event or self.on_event, cancel or asyncio.Event())
        )

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.executor.close()


def make_spec(job_id: str = "", items: int = 1, priority_rank: int = 1,
              keys: list[str] | None = None) -> JobSpec:
    keys = keys or [f"run-{n}" for n in range(items)]
    return JobSpec(
        job_id=job_id or f"job-{uuid.uuid4().hex[:8]}", plan_id="plan-1",
        priority_rank=priority_rank,
        items=[JobItem(key=k, kind="code", code="def test_x():\n    pass\n") for k in keys],
        snapshot_hash="0" * 64, env_spec=EnvSpec(requirements=[]),
        limits=Limits(wall_seconds=WALL_S), test_timeout_s=5.0, isolation="process",
    )


def outcome(**fields: Any) -> JobOutcome:
    base: dict[str, Any] = dict(isolation="process", exit_code=0, timed_out=False,
                                cancelled=False, duration_s=1.5, stderr_tail="",
                                items_reported=1, invocations=1)
    base.update(fields)
    return JobOutcome(**base)


def finished(key: str, outcome: str = "passed", failure: str | None = None) -> ItemFinished:
    return ItemFinished(key=key, outcome=outcome, duration_s=0.1, failure=failure, output="",
                        tests=[{"nodeid": f"t.py::{key}", "outcome": outcome,
                                "duration_s": 0.1, "failure": failure}])


@pytest.fixture
def on_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
    Callable[[Callable[[Cluster], Coroutine[Any, Any, None]]], None]
]:
    """`on_cluster(main)` runs `main(cluster)` on a virtual-time loop."""

    def runner(main: Callable[[Cluster], Coroutine[Any, Any, None]]) -> None:
        async def wrapped(loop: VirtualTimeLoop) -> None:
            monkeypatch.setattr(celery_module, "time", VirtualMonotonic(loop))
            monkeypatch.setattr(replies_module, "time", VirtualMonotonic(loop))
            cluster = Cluster(loop, tmp_path)
            signals.after_task_publish.connect(cluster.on_publish, weak=False)
            try:
                await main(cluster)
            finally:
                signals.after_task_publish.disconnect(cluster.on_publish)
                await cluster.close()

        run_virtual(wrapped)

    yield runner


# -- the happy path ----------------------------------------------------------------------


def test_a_job_is_sent_once_and_its_replies_come_back_in_order(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        spec = make_spec(priority_rank=1)
        task = c.run(spec)
        sent = await c.until_sent(1)
        assert sent.task_id == f"{spec.job_id}:0"
        # What the worker gets: the spec, plus where to reply and fetch the snapshot.
        assert sent.spec["job_id"] == spec.job_id
        assert sent.spec["delivery"]["reply_to"] == c.executor.replies.stream
        assert sent.spec["delivery"]["executor_id"] == c.executor.executor_id
        assert sent.spec["delivery"]["snapshot_token"]
        worker = c.start_delivery()
        await worker.on_event(ItemStarted(key="run-0", nodeid="t.py::run-0"))
        await worker.on_event(finished("run-0"))
        worker.reply(replies.Finished(outcome=outcome()))
        assert await task == outcome()
        assert c.events == [ItemStarted(key="run-0", nodeid="t.py::run-0"), finished("run-0")]
        assert [s.task_id for s in c.sent] == [f"{spec.job_id}:0"]
        assert c.take() is None
        # Done: a late redelivery of the same job skips it and reports nothing.
        assert c.redis.exists(JobKeys(c.settings.redis_prefix, spec.job_id).done)
        stream = c.executor.replies.stream
        before = len(c.redis.streams.get(stream, []))
        late = c.worker(sent.task_id, sent.spec, redelivered=True)
        assert await late.run() == {"skipped": "done"}
        assert len(c.redis.streams.get(stream, [])) == before

    on_cluster(main)


def test_broker_priority_follows_the_plans_rank(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        for rank in (0, 3):
            c.run(make_spec(priority_rank=rank), cancel=_set_event())
        await c.until_sent(2)
        priorities = []
        while (got := c.take()) is not None:
            priorities.append(got[1]["priority_rank"])
        assert sorted(priorities) == [0, 3]
        # RabbitMQ-style brokers deliver the highest number first; critical must win.
        assert broker_priority(0, "memory://") > broker_priority(3, "memory://")
        assert broker_priority(0, "redis://x") < broker_priority(3, "redis://x")

    on_cluster(main)


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


# -- what is sent again, and when -------------------------------------------------------


def test_a_job_waiting_on_the_broker_is_never_sent_again(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        task = c.run(make_spec())
        await c.until_sent(1)
        await asyncio.sleep(3600)  # virtual: an hour with every worker busy
        assert len(c.sent) == 1 and not task.done()

    on_cluster(main)


def test_a_job_whose_worker_beats_is_not_sent_again(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        task = c.run(make_spec())
        await c.until_sent(1)
        worker = c.start_delivery()
        c.spawn(worker._beat())  # the worker's real heartbeat
        await asyncio.sleep(WALL_S)  # virtual: a long, healthy test run
        assert len(c.sent) == 1 and not task.done()
        assert not worker.cancel.is_set()

    on_cluster(main)


def test_a_worker_that_goes_silent_gets_its_job_sent_again(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        spec = make_spec()
        task = c.run(spec)
        first = await c.until_sent(1)
        worker = c.start_delivery()
        beat = c.spawn(worker._beat())
        await asyncio.sleep(10)
        beat.cancel()  # the worker's machine dies here
        died = c.loop.time()
        ttl = HEARTBEAT_S * ALIVE_BEATS
        again = await c.until_sent(2)
        assert again.task_id == f"{spec.job_id}:1"
        assert again.spec["items"] == first.spec["items"]
        assert again.spec["delivery"] == first.spec["delivery"]
        # Not before its alive key lapsed, and then after LAPSED_CHECKS silent checks.
        assert again.at >= died + ttl
        assert again.at <= died + ttl + (LAPSED_CHECKS + 1) * HEARTBEAT_S
        # The new delivery runs to the end.
        worker2 = c.start_delivery()
        worker2.reply(replies.Finished(outcome=outcome()))
        assert await task == outcome()
        assert len(c.sent) == 2

    on_cluster(main)


def test_a_job_that_keeps_losing_its_worker_is_given_up(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        spec = make_spec()
        task = c.run(spec)
        for n in range(1, MAX_RESENDS + 2):
            await c.until_sent(n)
            c.start_delivery()  # starts, then never beats nor answers
        with pytest.raises(WorkerLostError):
            await task
        assert [s.task_id for s in c.sent] == [f"{spec.job_id}:{n}"
                                               for n in range(MAX_RESENDS + 1)]

    on_cluster(main)


def test_a_job_past_its_hard_limit_fails_even_while_its_worker_beats(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        task = c.run(make_spec())
        await c.until_sent(1)
        worker = c.start_delivery()
        started = c.loop.time()
        c.spawn(worker._beat())
        with pytest.raises(TimeoutError, match="hard time limit"):
            await task
        assert c.loop.time() - started >= WALL_S + HARD_LIMIT_MARGIN_S
        assert len(c.sent) == 1

    on_cluster(main)


# -- cancel ------------------------------------------------------------------------------


def test_cancelling_a_queued_job_ends_it_and_stops_any_delivery(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        spec = make_spec()
        cancel = asyncio.Event()
        task = c.run(spec, cancel)
        await c.until_sent(1)
        cancel.set()
        result = await task
        assert result.cancelled and result.items_reported == 0
        # A worker that takes the job afterwards is told at its first beat.
        got = c.take()
        assert got is not None
        worker = c.worker(*got)
        c.spawn(worker._beat())
        await worker.cancel.wait()

    on_cluster(main)


def test_cancelling_a_running_job_waits_for_the_workers_outcome(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        cancel = asyncio.Event()
        task = c.run(make_spec(items=2), cancel)
        await c.until_sent(1)
        worker = c.start_delivery()
        c.spawn(worker._beat())
        await asyncio.sleep(3)
        cancel.set()
        await worker.cancel.wait()  # the revoke reached the worker through its beat
        await worker.on_event(finished("run-0"))
        worker.reply(replies.Finished(outcome=outcome(cancelled=True, items_reported=1)))
        result = await task
        assert result == outcome(cancelled=True, items_reported=1)
        assert c.events == [finished("run-0")]

    on_cluster(main)


def test_a_cancelled_job_whose_worker_never_answers_ends_after_the_grace(
    on_cluster: Any,
) -> None:
    async def main(c: Cluster) -> None:
        cancel = asyncio.Event()
        task = c.run(make_spec(), cancel)
        await c.until_sent(1)
        c.start_delivery()
        await asyncio.sleep(1)
        cancel.set()
        at = c.loop.time()
        result = await task
        assert result.cancelled
        assert c.loop.time() - at >= CANCEL_GRACE_S
        assert len(c.sent) == 1  # a cancelled job is never sent again

    on_cluster(main)


def test_cancel_reaches_a_worker_that_reports_without_pause(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        spec = make_spec(items=400)
        cancel = asyncio.Event()

        async def on_event(event: ItemStarted | ItemFinished) -> None:
            cancel.set()  # the plan is cancelled while its first result is being handled

        task = c.run(spec, cancel, on_event=on_event)
        await c.until_sent(1)
        worker = c.start_delivery()
        c.spawn(worker._beat())
        for item in spec.items:  # one result every 0.1 s, for up to 40 s
            if worker.cancel.is_set():
                break
            await worker.on_event(finished(item.key))
            await asyncio.sleep(0.1)
        stopped = worker.cancel.is_set()
        worker.reply(replies.Finished(outcome=outcome(cancelled=True)))
        await task
        assert stopped, "the worker was never told to stop"

    on_cluster(main)


# -- what the worker reports -------------------------------------------------------------


def test_a_worker_that_cannot_run_the_job_fails_it_with_the_reason(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        spec = make_spec().model_copy(update={"snapshot_hash": "not-a-hash"})
        task = c.run(spec)
        await c.until_sent(1)
        got = c.take()
        assert got is not None
        worker = c.worker(*got)
        assert "error" in await worker.run()  # the real delivery: started, then error
        with pytest.raises(RuntimeError, match=r"could not run the job: .*not a snapshot hash"):
            await task
        kinds = [f[b"type"] for _, f in c.redis.streams[c.executor.replies.stream]]
        assert kinds == [b"started", b"error"]

    on_cluster(main)


def test_an_environment_that_will_not_build_is_an_environment_error(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        task = c.run(make_spec())
        await c.until_sent(1)
        worker = c.start_delivery()
        worker.reply(replies.EnvError(message="no Python 3.99", log_tail="uv: not found"))
        with pytest.raises(EnvironmentBuildError) as info:
            await task
        assert "no Python 3.99" in str(info.value)
        assert info.value.log_tail == "uv: not found"

    on_cluster(main)


def test_a_shutdown_that_is_not_a_cancel_keeps_results_for_the_redelivery(
    on_cluster: Any,
) -> None:
    async def main(c: Cluster) -> None:
        spec = make_spec()
        c.run(spec, cancel=asyncio.Event())
        await c.until_sent(1)
        worker = c.start_delivery()
        stream = c.redis.streams[c.executor.replies.stream]
        worker.terminating = True  # SIGTERM from a worker's cold shutdown
        await worker.on_event(finished("run-0", "error", "killed"))
        assert len(stream) == 1  # only `started`: the redelivery reports the test
        c.redis.set(JobKeys(c.settings.redis_prefix, spec.job_id).cancel, "1")
        await worker.on_event(finished("run-0", "error", "cancelled"))
        assert len(stream) == 2  # a cancel's results are reported

    on_cluster(main)


def test_a_worker_whose_orchestrator_is_gone_stops(on_cluster: Any) -> None:
    async def main(c: Cluster) -> None:
        c.run(make_spec(), cancel=asyncio.Event())
        await c.until_sent(1)
        worker = c.start_delivery()
        await c.executor.replies.close()  # deletes its alive key: nobody waits any more
        c.spawn(worker._beat())
        await worker.cancel.wait()

    on_cluster(main)


# -- the reply stream --------------------------------------------------------------------


def test_the_reader_routes_replies_per_job_and_drops_what_nobody_waits_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main(loop: VirtualTimeLoop) -> None:
        monkeypatch.setattr(replies_module, "time", VirtualMonotonic(loop))
        server = FakeRedisServer(clock=loop.time)
        reader = ReplyReader(AsyncClient(server), "p", "ex1")
        await reader.start()
        assert server.exists(reader.alive_key)
        a, b = reader.open("job-a"), reader.open("job-b")
        sync = SyncClient(server)

        def send(job: str, kind: str, data: str) -> None:
            sync.xadd(reader.stream, {"job": job, "type": kind, "data": data})

        send("job-a", "item_started", ItemStarted(key="k", nodeid=None).model_dump_json())
        send("job-gone", "item_started", ItemStarted(key="x", nodeid=None).model_dump_json())
        send("job-b", "outcome", "{not json")
        send("job-b", "outcome", '{"type": "outcome", "outcome": {"surprise": 1}}')
        send("job-b", "outcome", replies.Finished(outcome=outcome()).model_dump_json())
        assert await a.get() == ItemStarted(key="k", nodeid=None)
        assert await b.get() == replies.Finished(outcome=outcome())  # bad ones were dropped
        assert a.empty() and b.empty()
        reader.close_inbox("job-a")
        send("job-a", "item_started", ItemStarted(key="late", nodeid=None).model_dump_json())
        await asyncio.sleep(120)  # virtual: the alive key outlives its TTL only if kept
        assert a.empty()
        assert server.exists(reader.alive_key)
        await reader.close()
        assert not server.exists(reader.alive_key, reader.stream)

    run_virtual(main)


# -- repeated reports do not count twice --------------------------------------------------


def test_results_reported_by_two_deliveries_are_recorded_once(
    on_cluster: Any, db: Database, project_id: str,
) -> None:
    """A worker dies after reporting a result; the resent delivery reports it again."""
    plan_id = add_plan(db, project_id, tests=2)
    with db.session() as s:
        runs = list(s.scalars(
            select(TestRun).where(TestRun.plan_id == plan_id).order_by(TestRun.position)))
    plan = PlanRef(plan_id, project_id)
    written: list[bool] = []

    async def record(event: ItemStarted | ItemFinished) -> None:
        """What PlanExecution's on_event writes for a job's event."""
        def op() -> bool:
            with db.session() as s:
                if isinstance(event, ItemStarted):
                    return results.run_started(s, plan, event.key, 0)
                return results.run_finished(
                    s, plan, event.key, 0, outcome=event.outcome, duration_s=event.duration_s,
                    failure=event.failure, output=event.output, isolation="process",
                    details=event.tests)
        written.append(await asyncio.to_thread(op))

    async def main(c: Cluster) -> None:
        spec = make_spec(keys=[r.id for r in runs])
        task = c.run(spec, on_event=record)
        await c.until_sent(1)
        first = c.start_delivery()
        await first.on_event(ItemStarted(key=runs[0].id, nodeid="t.py::a"))
        await first.on_event(finished(runs[0].id, "failed", "first delivery"))
        # ...and its machine dies: no beat, no outcome. The job is sent again.
        await c.until_sent(2)
        second = c.start_delivery()
        for run in runs:
            await second.on_event(ItemStarted(key=run.id, nodeid="t.py::x"))
            await second.on_event(finished(run.id, "passed"))
        second.reply(replies.Finished(outcome=outcome(items_reported=2)))
        await task

    on_cluster(main)
    assert written == [True, True, False, False, True, True]
    with db.session() as s:
        got = {r.id: (r.status, r.failure)
               for r in s.scalars(select(TestRun).where(TestRun.plan_id == plan_id))}
        finishes = len(list(s.scalars(
            select(Event).where(Event.plan_id == plan_id, Event.type == "test.finished"))))
    assert got == {runs[0].id: ("failed", "first delivery"), runs[1].id: ("passed", None)}
    assert finishes == 2
