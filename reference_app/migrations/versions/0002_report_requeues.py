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
    with op.batch_alter_table("reports") as batch:  # SQLite: a copy of the table, in batch
        batch.add_column(sa.Column("requeues", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("started_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("started_at")
        batch.drop_column("requeues")
