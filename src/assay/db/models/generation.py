"""AI test generations and their candidates with verdicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assay.db.base import Base, UTCDateTime, new_id, utcnow


class Generation(Base):
    __tablename__ = "generations"
    __table_args__ = (Index("ix_generations_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(16))
    engine: Mapped[str] = mapped_column(String(16), default="builtin")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    targets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    coverage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    plan_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The server process running it (host:pid:nonce), to tell a live one from one
    # interrupted by a stopped server.
    owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    candidates: Mapped[list[GenerationCandidate]] = relationship(
        cascade="all, delete-orphan", order_by="GenerationCandidate.position"
    )


class GenerationCandidate(Base):
    __tablename__ = "generation_candidates"
    __table_args__ = (Index("ix_generation_candidates_generation", "generation_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    target: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(300))
    code: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(32))
    runs_passed: Mapped[int] = mapped_column(Integer, default=0)
    runs_total: Mapped[int] = mapped_column(Integer, default=0)
    target_lines_covered: Mapped[list[int]] = mapped_column(JSON, default=list)
    new_lines_covered: Mapped[list[int]] = mapped_column(JSON, default=list)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)
    test_case_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
