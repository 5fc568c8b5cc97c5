"""The task ``bench.pool`` runs: one short query on the app's database, through the task
session that ``DATABASE_TASK_POOL_SIZE`` shapes (NullPool or a pool per worker process)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqDepends

from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq.deps import get_db_session


@email_broker.task(task_name="bench.pool_query")
async def pool_query(db: AsyncSession = TaskiqDepends(get_db_session)) -> int:
    return (await db.execute(text("SELECT count(*) FROM reports"))).scalar_one()
