"""The data the generation core takes and gives back (plain dataclasses, no ORM)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from assay.contracts.events import Verdict


@dataclass
class GenerationRequest:
    mode: Literal["diff", "function"]
    diff: str | None = None
    target: str | None = None
    source: str | None = None
    engine: Literal["builtin", "llm"] = "builtin"
    max_tests: int = 20
    repository_prefix: str | None = None
    """The project's folder in its git repository, so a diff from the repository's root
    maps onto the project (see `assay.generation.diff`); None when not in one."""


@dataclass
class TargetInfo:
    """A function or method tests are generated for, and the lines they must cover."""

    name: str  # "pkg.module:Class.method"
    module: str
    qualname: str
    file: str  # relative to the project root
    kind: str  # "function" | "method"
    signature: str
    line_start: int
    line_end: int
    lines: list[int]  # coverage target: changed lines (diff) or all statements (function)
    is_async: bool = False

    @property
    def func_name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]

    @property
    def class_name(self) -> str | None:
        return self.qualname.rsplit(".", 1)[0] if "." in self.qualname else None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Candidate:
    target: str
    name: str
    code: str
    verdict: Verdict = "error"
    runs_passed: int = 0
    runs_total: int = 0
    target_lines_covered: list[int] = field(default_factory=list)
    new_lines_covered: list[int] = field(default_factory=list)
    failure: str | None = None
    engine: str = "builtin"
    kind: str = "example"  # "example" | "property" | "llm"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class GenerationResult:
    targets: list[TargetInfo]
    candidates: list[Candidate]
    notes: list[str] = field(default_factory=list)
    coverage: dict[str, dict[str, object]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # Files the accepted tests need beside the project (only for pasted `source`).
    support_files: dict[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> list[Candidate]:
        return [c for c in self.candidates if c.verdict == "accepted"]

    def to_dict(self) -> dict[str, object]:
        return {
            "targets": [t.to_dict() for t in self.targets],
            "candidates": [c.to_dict() for c in self.candidates],
            "notes": list(self.notes),
            "coverage": self.coverage,
            "errors": list(self.errors),
            "support_files": dict(self.support_files),
        }
