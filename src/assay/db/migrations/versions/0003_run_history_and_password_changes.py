"""A test case's run history in order (test_runs.created_at), and password changes.

`test_runs.created_at` orders a test case's history newest first, through an index on
(test_case_id, created_at, id); existing runs take their plan's creation time.
`users.password_changed_at` ends the sessions (access tokens) issued before it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import assay.db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("test_runs") as batch:
        batch.add_column(sa.Column("created_at", assay.db.base.UTCDateTime(timezone=True),
                                   nullable=True))
    op.execute(
        "UPDATE test_runs SET created_at = (SELECT execution_plans.created_at "
        "FROM execution_plans WHERE execution_plans.id = test_runs.plan_id)"
    )
    op.execute("UPDATE test_runs SET created_at = CURRENT_TIMESTAMP WHERE created_at IS NULL")
    with op.batch_alter_table("test_runs") as batch:
        batch.alter_column("created_at", existing_type=assay.db.base.UTCDateTime(timezone=True),
                           nullable=False)
        batch.create_index("ix_test_runs_test_case_created",
                           ["test_case_id", "created_at", "id"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_changed_at",
                                   assay.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
    with op.batch_alter_table("test_runs") as batch:
        batch.drop_index("ix_test_runs_test_case_created")
        batch.drop_column("created_at")
