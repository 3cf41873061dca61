"""The supervisor's back-off (assay.orchestrator.supervisor): grow, cap, reset when healthy.

A real Supervisor restarts real Orchestrators (local executor, real SQLite). What makes
them crash is the database: its file is missing at first (every orchestrator dies on
its first write), then there (it runs), then its queue table is gone (it dies at its
next reconcile pass). Time is the virtual loop's (tests/unit/virtual_time.py): the
back-off sleeps, reconcile and heartbeat waits take no real time, and the moments at
which things happen are exact. The supervisor and the orchestrator read
`time.monotonic()` directly, so their `time` is pointed at the same virtual clock.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

import assay.orchestrator.core as core_module
import assay.orchestrator.supervisor as supervisor_module
from assay.config import Settings
from assay.db.engine import Database
from assay.db.models import Event
from assay.environments import EnvironmentPool
from assay.events.bus import EventBus
from assay.events.store import install_publisher
from assay.orchestrator.core import Orchestrator
from assay.orchestrator.executor import LocalExecutor
from assay.orchestrator.supervisor import Supervisor
from tests.unit.virtual_time import VirtualMonotonic, VirtualTimeLoop, run_virtual

MAX_BACKOFF = 8.0


@dataclass
class Crash:
    at: float
    restarts: int
    message: str


@dataclass
class Timeline:
    """When each orchestrator was made and each crash was logged, in virtual seconds."""

    loop: VirtualTimeLoop
    made: list[float] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    started: int = 0  # orchestrator.started events committed (seen on the bus)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_event(self, event: dict[str, object]) -> None:
        if event["type"] == "orchestrator.started":
            self.started += 1
            self.changed.set()

    def delays(self) -> list[float]:
        """From each crash to the next orchestrator: the back-off actually applied."""
        return [round(self.made[i + 1] - c.at, 9) for i, c in enumerate(self.crashes)
                if i + 1 < len(self.made)]

    async def until(self, crashes: int = 0, made: int = 0, started: int = 0) -> None:
        while len(self.crashes) < crashes or len(self.made) < made or self.started < started:
            self.changed.clear()
            await self.changed.wait()


class CrashLog(logging.Handler):
    """What the supervisor says when an orchestrator crashes, and when."""

    def __init__(self, timeline: Timeline) -> None:
        super().__init__(logging.ERROR)
        self.timeline = timeline

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("orchestrator crashed"):
            restarts = record.args[0] if isinstance(record.args, tuple) else 0
            assert isinstance(restarts, int)
            self.timeline.crashes.append(
                Crash(self.timeline.loop.time(), restarts, record.getMessage())
            )
            self.timeline.changed.set()


@dataclass
class Scenario:
    timeline: Timeline
    supervisor: Supervisor
    db: Database
    health_after_heal: dict[str, object]
    events: list[tuple[str, dict[str, object]]]


def crash_scenario(tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    db_file = tmp_path / "later" / "assay.db"  # its directory does not exist yet
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{db_file}", sandbox="process",
        secret_key="unit-test-secret-key-0123456789abcdef", reconcile_seconds=5.0,
        heartbeat_seconds=2.0, workers=1, _env_file=None,
    )
    db = Database(settings.resolved_database_url)
    pool = EnvironmentPool(tmp_path / "envs")
    executor = LocalExecutor(1, pool, tmp_path / "workspaces")

    def table(rename_from: str, rename_to: str) -> None:
        with sqlite3.connect(db_file) as conn:
            conn.execute(f"ALTER TABLE {rename_from} RENAME TO {rename_to}")

    async def main(loop: VirtualTimeLoop) -> Scenario:
        monkeypatch.setattr(supervisor_module, "time", VirtualMonotonic(loop))
        monkeypatch.setattr(core_module, "time", VirtualMonotonic(loop))
        timeline = Timeline(loop)
        bus = EventBus()  # what commits, as the server's bus publishes it
        bus.bind(loop)
        bus.add_listener(timeline.on_event)
        install_publisher(db.sessionmaker, bus)
        handler = CrashLog(timeline)
        logger = logging.getLogger("assay.orchestrator")
        logger.addHandler(handler)

        def factory() -> Orchestrator:
            timeline.made.append(loop.time())
            timeline.changed.set()
            return Orchestrator(settings, db, executor, pool)

        sup = Supervisor(factory, grace_seconds=1.0, max_backoff=MAX_BACKOFF)
        try:
            await sup.start()
            # 1. No database: seven crashes in a row. Heal while it backs off.
            await timeline.until(crashes=7)
            db_file.parent.mkdir()
            shutil.copy(template, db_file)
            # 2. The next orchestrator runs, healthy, for over a minute.
            await timeline.until(made=8, started=1)
            await asyncio.sleep(61)  # virtual: the clock moves, nothing waits
            now = sup.snapshot(settings.heartbeat_seconds)
            health = now.health()
            assert now.state == "healthy"
            table("execution_plans", "execution_plans_gone")
            # 3. It dies at its next reconcile; its successors die at once, three times.
            await timeline.until(crashes=11)
            table("execution_plans_gone", "execution_plans")
            await timeline.until(made=12, started=5)
            await sup.stop()
        finally:
            logger.removeHandler(handler)
        with db.session() as s:
            rows = s.scalars(select(Event).order_by(Event.seq))
            events = [(e.type, dict(e.payload)) for e in rows]
        return Scenario(timeline, sup, db, health, events)

    try:
        return run_virtual(main)
    finally:
        db.dispose()


def test_backoff_grows_caps_and_resets_after_a_healthy_run(
    tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = crash_scenario(tmp_path, migrated_sqlite, monkeypatch)
    t = s.timeline
    # Grows by doubling from half a second, then holds at the cap.
    assert t.delays()[:7] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    # Healthy run: it lived > 60 s, so its crash starts over gently, then grows again.
    assert t.crashes[7].at - t.made[7] > 60
    assert t.delays()[7:] == [0.5, 1.0, 2.0, 4.0]
    assert len(t.made) == 12
    assert (s.supervisor.crashes, s.supervisor.restarts) == (11, 11)
    assert [c.restarts for c in t.crashes] == list(range(1, 12))
    assert s.health_after_heal["running"] is True
    assert s.health_after_heal["crashes"] == 7
    assert "OperationalError" in str(s.health_after_heal["last_crash"])
    # Each restart is recorded once the database can take it.
    restarted = [p["restarts"] for kind, p in s.events if kind == "orchestrator.restarted"]
    assert restarted == [7, 8, 9, 10, 11]
    assert [kind for kind, _ in s.events].count("orchestrator.started") == 5
    # Stopped cleanly at the end.
    assert not s.supervisor.running
    assert s.supervisor.snapshot(2.0).state == "stopped"
    assert s.events[-1][0] == "orchestrator.stopped"


def test_the_crash_log_tells_the_delay_really_applied(
    tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = crash_scenario(tmp_path, migrated_sqlite, monkeypatch)
    t = s.timeline
    for crash, delay in zip(t.crashes, t.delays(), strict=False):
        assert crash.message.endswith(f"restarting in {delay:.1f} s"), crash.message


def test_a_stop_while_the_database_is_down_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/missing/assay.db",
        sandbox="process", secret_key="unit-test-secret-key-0123456789abcdef",
        _env_file=None,
    )
    db = Database(settings.resolved_database_url)
    pool = EnvironmentPool(tmp_path / "envs")
    made: list[float] = []

    async def main(loop: VirtualTimeLoop) -> None:
        monkeypatch.setattr(supervisor_module, "time", VirtualMonotonic(loop))
        monkeypatch.setattr(core_module, "time", VirtualMonotonic(loop))

        def factory() -> Orchestrator:
            made.append(loop.time())
            return Orchestrator(settings, db, LocalExecutor(1, pool, tmp_path / "ws"), pool)

        sup = Supervisor(factory, max_backoff=30.0)
        await sup.start()
        await asyncio.sleep(2)  # virtual: crashes at 0, 0.5 and 1.5; backing off till 3.5
        assert made == [0.0, 0.5, 1.5]
        await sup.stop()
        await asyncio.sleep(60)
        assert made == [0.0, 0.5, 1.5]  # no restart after stop
        assert not sup.running

    try:
        run_virtual(main)
    finally:
        db.dispose()
