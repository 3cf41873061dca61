"""Each run records how its pytest started: warm (forked from a warm runner) or cold.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: SQLite adds it in place (ALTER TABLE ADD COLUMN).
    op.add_column("test_runs", sa.Column("start", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("test_runs") as batch:
        batch.drop_column("start")
