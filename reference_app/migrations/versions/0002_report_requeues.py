"""Reports remember when a run started and how often the sweep enqueued them again.

Revision ID: 0002
Revises: 0001
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reference_app.infrastructure.database.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database the app made before it had migrations may have the columns already (it made
    # its tables from the models of its day): add only what is missing.
    have = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("reports")}
    new = [sa.Column("requeues", sa.Integer(), nullable=False, server_default="0"),
           sa.Column("started_at", UTCDateTime(timezone=True), nullable=True)]  # fmt: skip
    with op.batch_alter_table("reports") as batch:  # SQLite: a copy of the table, in batch
        for column in new:
            if column.name not in have:
                batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("started_at")
        batch.drop_column("requeues")
