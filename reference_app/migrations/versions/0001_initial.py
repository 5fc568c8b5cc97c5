"""The schema of the app and the extras, as the app created it before it had migrations.

Each table and index is created only if missing: the extras create their own tables when they
start (so a copied project without migrations still works), and may have done it first.

Revision ID: 0001
Revises:
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reference_app.infrastructure.database.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

C = sa.Column


def table(name: str, *columns, indexes: tuple[str, ...] = ()) -> None:
    op.create_table(name, *columns, if_not_exists=True)
    for column in indexes:
        op.create_index(f"ix_{name}_{column}", name, [column], if_not_exists=True)


def upgrade() -> None:
    table("email_deliveries",
          C("id", sa.Integer(), primary_key=True),
          C("idempotency_key", sa.String(600), nullable=False),
          C("campaign", sa.String(200), nullable=False),
          C("recipient", sa.String(320), nullable=False),
          C("status", sa.String(16), nullable=False),
          C("attempts", sa.Integer(), nullable=False),
          C("error", sa.Text()),
          C("created_at", UTCDateTime(timezone=True), nullable=False),
          C("sent_at", UTCDateTime(timezone=True)),
          sa.UniqueConstraint("idempotency_key", name="uq_email_deliveries_key"),
          indexes=("campaign",))  # fmt: skip
    table("reports",
          C("id", sa.Integer(), primary_key=True),
          C("title", sa.String(200), nullable=False),
          C("user_id", sa.Integer()),
          C("values", sa.JSON(), nullable=False),
          C("delay_ms", sa.Integer(), nullable=False),
          C("status", sa.String(20), nullable=False),
          C("task_id", sa.String(64)),
          C("result", sa.JSON()),
          C("error", sa.Text()),
          C("runs", sa.Integer(), nullable=False),
          C("created_at", UTCDateTime(timezone=True), nullable=False),
          C("completed_at", UTCDateTime(timezone=True)),
          indexes=("status", "task_id"))  # fmt: skip
    table("users",
          C("id", sa.Integer(), primary_key=True),
          C("email", sa.String(320), nullable=False, unique=True),
          C("name", sa.String(100), nullable=False),
          C("password_hash", sa.String(200)),
          C("is_active", sa.Boolean(), nullable=False),
          C("is_verified", sa.Boolean(), nullable=False),
          C("created_at", UTCDateTime(timezone=True), nullable=False),
          indexes=("is_active",))  # fmt: skip
    # The extras' tables (taskiq_extras.database.metadata).
    table("task_runs",
          C("task_id", sa.String(64), primary_key=True),
          C("task_name", sa.String(200), nullable=False),
          C("broker", sa.String(50), nullable=False),
          C("status", sa.String(20), nullable=False),
          C("rank", sa.Integer(), nullable=False),
          C("queued_at", sa.Float()),
          C("started_at", sa.Float()),
          C("finished_at", sa.Float()),
          C("duration_ms", sa.Float()),
          C("starts", sa.Integer(), nullable=False),
          C("retries", sa.Integer(), nullable=False),
          C("error_type", sa.String(200)),
          C("error_message", sa.Text()),
          C("worker_pid", sa.Integer()),
          C("labels", sa.JSON(none_as_null=True)),
          C("updated_at", sa.Float(), nullable=False),
          indexes=("queued_at", "status", "task_name", "updated_at"))  # fmt: skip
    for name in ("taskiq_results", "taskiq_progress"):
        table(name,
              C("task_id", sa.String(64), primary_key=True),
              C("payload", sa.Text(), nullable=False),
              C("expires_at", sa.Float(), nullable=False),
              indexes=("expires_at",))  # fmt: skip
    table("taskiq_schedules",
          C("schedule_id", sa.String(64), primary_key=True),
          C("queue", sa.String(200), nullable=False),
          C("task_name", sa.String(200), nullable=False),
          C("schedule", sa.Text(), nullable=False),
          C("created_at", sa.DateTime(timezone=True), nullable=False),
          indexes=("queue",))  # fmt: skip
    table("taskiq_schedule_ticks",
          C("queue", sa.String(200), primary_key=True),
          C("schedule_id", sa.String(64), primary_key=True),
          C("tick", sa.String(40), primary_key=True),
          C("claimed_at", sa.DateTime(timezone=True), nullable=False),
          C("claimed_by", sa.String(200), nullable=False),
          indexes=("claimed_at",))  # fmt: skip


def downgrade() -> None:
    extras = ["taskiq_schedule_ticks", "taskiq_schedules", "taskiq_progress", "taskiq_results"]
    for name in [*extras, "task_runs", "users", "reports", "email_deliveries"]:
        op.drop_table(name)
