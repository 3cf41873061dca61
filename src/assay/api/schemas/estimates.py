"""Schemas for a plan's time-left estimate (`assay.services.estimates`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RunningEstimate(BaseModel):
    """A run in progress: how long its test usually takes, and how long it has run."""

    run_id: str
    test_case_id: str | None
    expected_s: float | None = Field(
        description="Its test's median past duration (else this plan's mean); null if neither."
    )
    elapsed_s: float = Field(description="Seconds it has been running, at `as_of`.")


class PlanEstimateOut(BaseModel):
    """Seconds a plan has left, and what the estimate is based on.

    A client ticks it down between answers: at `as_of + t`, what is left is
    `queued_s` plus, for each running run, `max(expected_s - elapsed_s - t, 0)`.
    """

    plan_id: str
    as_of: datetime
    remaining_s: float | None = Field(
        description="Seconds left at `as_of`; null when there is nothing to go by "
        "(no past runs of these tests and none of this plan's finished)."
    )
    queued_s: float = Field(description="Expected seconds of the runs not started yet.")
    running: list[RunningEstimate]
    unfinished: int = Field(description="Runs not finished yet.")
    with_history: int = Field(description="Of those, the runs whose test has past runs.")
    samples: int = Field(description="Past runs of those tests the estimate is from.")
    window: int = Field(description="At most this many past runs of each test are used.")
    fallback_s: float | None = Field(
        description="Mean duration of this plan's finished tests: the guess for a test "
        "without past runs."
    )
