"""Scheduled upkeep: the nightly clean-up, and the sweep of reports that waited too long.
The scheduler sends both by their ``schedule`` labels."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqDepends

from reference_app.infrastructure.taskiq import email_broker, register_task
from reference_app.infrastructure.taskiq.deps import get_db_session
from reference_app.modules.maintenance.settings import get_maintenance_settings
from reference_app.modules.reports import service as reports
from reference_app.modules.reports.models import Report, ReportStatus, utcnow
from reference_app.modules.reports.settings import get_reports_settings
from reference_app.modules.reports.tasks import process_report_task

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


# --8<-- [start:sweep_reports]
@email_broker.task(
    task_name="sweep_reports",
    schedule=[{"cron": "* * * * *", "schedule_id": "sweep_reports"}],  # every minute
)
async def sweep_reports(db: AsyncSession = TaskiqDepends(get_db_session)) -> dict[str, list]:
    """Enqueue again the reports queued or processing for too long; fail them after a few."""
    limits = get_reports_settings()
    again, failed = await reports.sweep(
        db,
        requeue_after=limits.REPORTS_REQUEUE_AFTER_SECONDS,
        stuck_after=limits.REPORTS_STUCK_AFTER_SECONDS,
        max_requeues=limits.REPORTS_MAX_REQUEUES,
        new_task_id=process_report_task.broker.id_generator,
    )
    for report_id, task_id in again:
        await process_report_task.kicker().with_task_id(task_id).kiq(report_id=report_id)
    return {"requeued": [report_id for report_id, _ in again], "failed": failed}


# --8<-- [end:sweep_reports]

register_task("sweep_reports", "email_broker", sweep_reports)
