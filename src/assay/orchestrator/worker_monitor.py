"""The Celery workers this server has seen, from their own heartbeats.

Workers broadcast a heartbeat every two seconds (with how many jobs they run);
a background thread listens and keeps a small table, and asks a new worker once
(`inspect().stats()`, bounded by a short timeout) how many processes it has.
Requests read the table and never wait on the broker.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from celery import Celery

log = logging.getLogger("assay.orchestrator")

OFFLINE_AFTER_S = 10.0
FORGET_AFTER_S = 300.0
INSPECT_TIMEOUT_S = 1.0


@dataclass
class WorkerInfo:
    name: str
    concurrency: int | None = None
    busy: int = 0
    processed: int = 0
    last_heartbeat: float = 0.0
    online: bool = True

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["last_heartbeat"] = datetime.fromtimestamp(self.last_heartbeat, UTC).isoformat()
        out["online"] = time.time() - self.last_heartbeat < OFFLINE_AFTER_S
        return out


class WorkerMonitor:
    def __init__(self, app: Celery) -> None:
        self.app = app
        self._workers: dict[str, WorkerInfo] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._need_stats: set[str] = set()
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._run, name="assay-worker-monitor", daemon=True)
        self._stats_thread = threading.Thread(
            target=self._stats_loop, name="assay-worker-stats", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        self._stats_thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._receiver is not None:
            self._receiver.should_stop = True

    # -- reading (requests) -----------------------------------------------------------
    def workers(self) -> list[dict[str, Any]]:
        now = time.time()
        with self._lock:
            for name in [n for n, w in self._workers.items()
                         if now - w.last_heartbeat > FORGET_AFTER_S]:
                del self._workers[name]
            return [w.to_dict() for w in sorted(self._workers.values(), key=lambda w: w.name)]

    def totals(self) -> tuple[int, int]:
        """(busy, total) process slots over the workers online now."""
        online = [w for w in self.workers() if w["online"]]
        return sum(w["busy"] for w in online), sum(w["concurrency"] or 0 for w in online)

    # -- listening (background) -------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        name = event.get("hostname")
        if not name:
            return
        with self._lock:
            info = self._workers.get(name)
            if info is None:
                info = self._workers[name] = WorkerInfo(name=name)
                self._need_stats.add(name)
            if event.get("type") == "worker-offline":
                info.last_heartbeat = 0.0
                return
            info.busy = int(event.get("active") or 0)
            info.processed = int(event.get("processed") or 0)
            info.last_heartbeat = float(event.get("timestamp") or time.time())

    def _run(self) -> None:
        handlers = {
            "worker-heartbeat": self._on_event,
            "worker-online": self._on_event,
            "worker-offline": self._on_event,
        }
        while not self._stop.is_set():
            try:
                with self.app.connection_for_read() as conn:
                    receiver = self.app.events.Receiver(conn, handlers=handlers)
                    self._receiver = receiver
                    # wakeup: ask every worker for a heartbeat now, not in two seconds
                    receiver.capture(limit=None, timeout=None, wakeup=True)
            except Exception as exc:
                if self._stop.is_set():
                    return
                log.warning("listening for Celery worker heartbeats failed: %s", exc)
                self._stop.wait(2.0)

    def _stats_loop(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                wanted = sorted(self._need_stats)
            if not wanted:
                continue
            try:
                stats = self.app.control.inspect(
                    destination=wanted, timeout=INSPECT_TIMEOUT_S
                ).stats() or {}
            except Exception as exc:
                log.warning("asking Celery workers for their stats failed: %s", exc)
                continue
            with self._lock:
                for name, data in stats.items():
                    info = self._workers.get(name)
                    pool = (data or {}).get("pool") or {}
                    if info is not None and isinstance(pool.get("max-concurrency"), int):
                        info.concurrency = pool["max-concurrency"]
                        self._need_stats.discard(name)
