"""Login throttling: too many failures for a user or an address answer 429 for a while."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginThrottle:
    """A sliding window of failures per key (`user:<name>` and `ip:<address>`).

    Kept in memory: it protects one server process; behind several servers each
    counts its own share, which still bounds guessing to a small multiple.
    """

    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> int:
        """Seconds until these keys may try again; 0 when they may now."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                q = self._prune(key, now)
                if len(q) >= self.max_failures:
                    wait = max(wait, q[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._prune(key, now).append(now)

    def succeed(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
