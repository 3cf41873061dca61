"""Test cases: code of their own, or a reference to a test in the project's own tree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assay.db.base import Base, UTCDateTime, new_id, utcnow


class TestCase(Base):
    __tablename__ = "test_cases"
    __test__ = False  # not a pytest class, despite the name
    __table_args__ = (
        Index("ix_test_cases_project_status", "project_id", "status"),
        Index("ix_test_cases_project_created", "project_id", "created_at", "id"),
        Index("ix_test_cases_project_title", "project_id", "title", "id"),
        Index("ix_test_cases_project_priority", "project_id", "priority_rank"),
        Index("ix_test_cases_project_origin", "project_id", "origin"),
        Index("ix_test_cases_project_reference", "project_id", "reference"),
        Index("ix_test_cases_generation", "generation_id"),
        # Text search has its own index per database (migration 0005, assay.db.search).
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str | None] = mapped_column(Text, nullable=True)
    reference: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    priority_rank: Mapped[int] = mapped_column(Integer, default=2)
    status: Mapped[str] = mapped_column(String(16), default="active")
    origin: Mapped[str] = mapped_column(String(16), default="manual")
    target: Mapped[str | None] = mapped_column(String(500), nullable=True)
    generation_id: Mapped[str | None] = mapped_column(
        ForeignKey("generations.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    tag_rows: Mapped[list[TestCaseTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TestCaseTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class TestCaseTag(Base):
    """One tag of one test case: a row each, so filtering by tag uses an index."""

    __tablename__ = "test_case_tags"
    __test__ = False
    __table_args__ = (Index("ix_test_case_tags_tag", "tag", "test_case_id"),)

    test_case_id: Mapped[str] = mapped_column(
        ForeignKey("test_cases.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
