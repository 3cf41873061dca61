"""A plan's runs a page at a time: indexes on (plan_id, position, id) and by status.

`GET /execution/plans/{id}/runs` walks a plan's runs in plan order, optionally filtered
by status; (plan_id, status, position, id) replaces (plan_id, status), which it covers
(a plan's counts by status, the orchestrator's updates of its active runs).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain index operations: SQLite does them in place (no table copy in batch mode).
    op.create_index("ix_test_runs_plan_position", "test_runs", ["plan_id", "position", "id"])
    op.create_index("ix_test_runs_plan_status_position", "test_runs",
                    ["plan_id", "status", "position", "id"])
    op.drop_index("ix_test_runs_plan_status", table_name="test_runs")


def downgrade() -> None:
    op.create_index("ix_test_runs_plan_status", "test_runs", ["plan_id", "status"])
    op.drop_index("ix_test_runs_plan_status_position", table_name="test_runs")
    op.drop_index("ix_test_runs_plan_position", table_name="test_runs")
