"""Execution plans and their test runs: the durable queue the orchestrator drains."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assay.db.base import Base, UTCDateTime, new_id, utcnow


class ExecutionPlan(Base):
    """One request to run a set of test cases, durable from the moment the API answers.

    `lease_owner`/`lease_expires_at` say which orchestrator holds a running plan and
    until when; a lease that is not renewed puts the plan back in the queue.
    """

    __tablename__ = "execution_plans"
    __table_args__ = (
        # The queue: queued plans by priority, then age.
        Index("ix_execution_plans_queue", "status", "priority_rank", "created_at"),
        Index("ix_execution_plans_project_created", "project_id", "created_at"),
        Index("ix_execution_plans_lease", "status", "lease_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    priority_rank: Mapped[int] = mapped_column(Integer, default=2)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    trigger: Mapped[str] = mapped_column(String(16), default="api")
    snapshot_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_plan_id: Mapped[str | None] = mapped_column(String(32), nullable=True)

    runs: Mapped[list[TestRun]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="TestRun.position"
    )


class TestRun(Base):
    """One test case inside one plan."""

    __tablename__ = "test_runs"
    __test__ = False
    __table_args__ = (
        # A plan's runs in plan order, a page at a time (GET /plans/{id}/runs), and
        # the same filtered by status; the second also counts a plan's runs by status.
        Index("ix_test_runs_plan_position", "plan_id", "position", "id"),
        Index("ix_test_runs_plan_status_position", "plan_id", "status", "position", "id"),
        Index("ix_test_runs_test_case_finished", "test_case_id", "finished_at"),
        # A test case's history, newest first (GET /tests/{id}/runs).
        Index("ix_test_runs_test_case_created", "test_case_id", "created_at", "id"),
        Index("ix_test_runs_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("execution_plans.id", ondelete="CASCADE"))
    test_case_id: Mapped[str | None] = mapped_column(
        ForeignKey("test_cases.id", ondelete="SET NULL"), nullable=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)
    isolation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    start: Mapped[str | None] = mapped_column(String(8), nullable=True)
    """warm (forked from the environment's warm runner) or cold (a fresh interpreter)."""
    details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When the run was queued (its plan's creation): the order of a test's history."""

    plan: Mapped[ExecutionPlan] = relationship(back_populates="runs")
