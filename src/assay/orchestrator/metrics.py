"""Rolling figures the orchestrator keeps in memory: dispatch latency and worker use."""

from __future__ import annotations

from collections import deque


class LatencyWindow:
    """The last N samples, for p50/p99 without an unbounded list."""

    def __init__(self, size: int = 1000) -> None:
        self.samples: deque[float] = deque(maxlen=size)

    def add(self, ms: float) -> None:
        self.samples.append(ms)

    def percentile(self, p: float) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return round(ordered[k], 2)

    def summary(self) -> dict[str, float | None]:
        return {
            "p50": self.percentile(50),
            "p99": self.percentile(99),
            "samples": float(len(self.samples)),
        }
