"""Schemas for a project's insights: its test history summarised for charts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class DayPassRate(BaseModel):
    day: str
    passed: int
    failed: int
    errored: int


class DayDuration(BaseModel):
    day: str
    total_s: float


class SlowTest(BaseModel):
    test_case_id: str
    title: str
    avg_s: float


class FailingTest(BaseModel):
    test_case_id: str
    title: str
    failures: int
    runs: int


class FlakyTest(BaseModel):
    test_case_id: str
    title: str
    flips: int


class InsightsOut(BaseModel):
    days: int
    since: datetime
    pass_rate: list[DayPassRate]
    duration: list[DayDuration]
    slowest: list[SlowTest]
    most_failing: list[FailingTest]
    flaky: list[FlakyTest]
