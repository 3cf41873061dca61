"""The generation probe's output lines (`assay.generation._probe_main`), one JSON per line.

The probe runs in the project's interpreter inside the sandbox, without Assay or
pydantic, and writes these as plain JSON; `assay.generation.probe` reads each line
through `PROBE_LINE`. A line is told apart by the key it carries (`env`, `start`,
`id`, `coverage`, `done`); one that matches none — output of the code under test
that reached the file, a line cut short by a crash — is skipped, not half-read.

An observed outcome stays a free-form object: it is the probe's description of
what the call returned or raised (status, repr, type, exception), compared by the
server as a whole and never field by field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter


class ProbeLine(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProbeEnv(ProbeLine):
    """The interpreter's version (`python`), and which of the tools a generated test may
    use (hypothesis, coverage, pytest) are importable in the environment."""

    env: dict[str, bool | str]


class ProbeStart(ProbeLine):
    """A call begins: if nothing follows, this call took the process down."""

    start: str


class ProbeOutcomes(ProbeLine):
    id: str
    outcomes: list[dict[str, Any]]
    seconds: float = 0.0
    seed: int | None = None
    """For the seed pass: the hash seed of the child interpreter that observed them."""


class ProbeCoverage(ProbeLine):
    """Lines covered, by call id (coverage context), then by file."""

    coverage: dict[str, dict[str, list[int]]]


class ProbeDone(ProbeLine):
    done: Literal[True]


ProbeRecord = ProbeEnv | ProbeStart | ProbeOutcomes | ProbeCoverage | ProbeDone
PROBE_LINE: TypeAdapter[ProbeRecord] = TypeAdapter(ProbeRecord)
