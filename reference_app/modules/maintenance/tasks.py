"""The nightly clean-up: a task that the scheduler sends by its ``schedule`` label."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqDepends

from reference_app.infrastructure.taskiq import email_broker, register_task
from reference_app.infrastructure.taskiq.deps import get_db_session
from reference_app.modules.maintenance.settings import get_maintenance_settings
from reference_app.modules.reports.models import Report, ReportStatus, utcnow

settings = get_maintenance_settings()


# --8<-- [start:purge_old_reports]
@email_broker.task(
    task_name="purge_old_reports",
    # Read by the scheduler process (make scheduler): one run a night, in the zone given.
    schedule=[
        {
            "cron": settings.MAINTENANCE_CLEANUP_CRON,
            "cron_offset": settings.MAINTENANCE_TIMEZONE,
            "schedule_id": "purge_old_reports",  # stable: the same tick in every scheduler
        }
    ],
)
async def purge_old_reports(
    keep_days: int | None = None, db: AsyncSession = TaskiqDepends(get_db_session)
) -> dict[str, int]:
    """Delete finished reports older than ``keep_days`` (default: the setting)."""
    days = keep_days if keep_days is not None else settings.MAINTENANCE_KEEP_REPORTS_DAYS
    done = await db.execute(
        delete(Report).where(
            Report.status.in_([ReportStatus.COMPLETE, ReportStatus.FAILED]),
            Report.created_at < utcnow() - timedelta(days=days),
        )
    )
    await db.commit()
    return {"deleted": done.rowcount, "keep_days": days}


# --8<-- [end:purge_old_reports]

register_task("purge_old_reports", "email_broker", purge_old_reports)
