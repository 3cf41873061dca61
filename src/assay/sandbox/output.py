"""Bounded capture of a process's output.

A test that prints forever must not grow the worker's memory: we keep only the
last `limit` bytes, and cut over-long lines before handing them to callbacks.
"""

from __future__ import annotations

from collections.abc import Callable


class TailBuffer:
    """Keeps the last `limit` bytes written to it and splits complete lines out."""

    def __init__(self, limit: int, on_line: Callable[[str], None] | None = None) -> None:
        self._limit = max(limit, 0)
        self._tail = bytearray()
        self._pending = bytearray()
        self._on_line = on_line
        self.truncated = False

    def feed(self, chunk: bytes) -> None:
        self._tail += chunk
        if len(self._tail) > self._limit:
            del self._tail[: len(self._tail) - self._limit]
            self.truncated = True
        if self._on_line is None:
            return
        self._pending += chunk
        while (nl := self._pending.find(b"\n")) >= 0:
            line = bytes(self._pending[:nl])
            del self._pending[: nl + 1]
            self._on_line(line[: self._limit].decode("utf-8", "replace"))
        if len(self._pending) > self._limit:
            del self._pending[self._limit :]

    def close(self) -> None:
        if self._on_line is not None and self._pending:
            self._on_line(bytes(self._pending).decode("utf-8", "replace"))
            self._pending.clear()

    def text(self) -> str:
        return bytes(self._tail).decode("utf-8", "replace")
