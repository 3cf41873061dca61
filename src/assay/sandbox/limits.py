"""Resource limits for one sandboxed process tree.

Kept as a frozen dataclass of plain numbers so a job can carry it over the wire
(Celery) and a worker on another machine enforces exactly what was asked.
"""

from __future__ import annotations

import resource
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    """What one sandboxed run may use before it is stopped.

    `wall_seconds` is enforced by the parent (kill the whole tree); the others are
    kernel rlimits applied to the sandboxed process and inherited by its children.
    `max_processes` is counted per uid by the kernel, so it is added to the number
    of processes the sandbox uid already runs when the run starts.
    """

    wall_seconds: float = 300.0
    cpu_seconds: int = 300
    memory_bytes: int = 2 << 30
    file_size_bytes: int = 256 << 20
    max_processes: int = 256
    output_bytes: int = 64 << 10

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def rlimits(self, nproc_base: int = 0) -> list[tuple[int, int, int]]:
        """(resource, soft, hard) triples for `setrlimit` in the child.

        CPU gets a hard limit one second above the soft one: the soft limit sends
        SIGXCPU (catchable, reported), the hard one SIGKILL for code that ignores it.
        """
        return [
            (resource.RLIMIT_AS, self.memory_bytes, self.memory_bytes),
            (resource.RLIMIT_CPU, self.cpu_seconds, self.cpu_seconds + 1),
            (resource.RLIMIT_FSIZE, self.file_size_bytes, self.file_size_bytes),
            (resource.RLIMIT_NPROC, nproc_base + self.max_processes,
             nproc_base + self.max_processes),
            (resource.RLIMIT_CORE, 0, 0),
        ]
