"""The ``process_report`` task of FastroAI's Background Tasks page, for real."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import Context, TaskiqDepends

from reference_app.infrastructure.taskiq import email_broker, register_task
from reference_app.infrastructure.taskiq.deps import get_db_session
from reference_app.modules.reports import service
from reference_app.modules.reports.models import ReportStatus, utcnow


class ReportNotFoundError(LookupError):
    pass


# --8<-- [start:process_report]
@email_broker.task(task_name="process_report")
async def process_report_task(
    report_id: int,
    user_id: int | None = None,
    db: AsyncSession = TaskiqDepends(get_db_session),
    context: Context = TaskiqDepends(),
) -> dict[str, Any]:
    """Process a report in the background."""
    report = await service.get(db, report_id)
    if report is None:
        raise ReportNotFoundError(f"report {report_id} does not exist")
    if report.status == ReportStatus.COMPLETE:
        # Delivered again (at-least-once): the work is done, do not do it twice.
        return {"status": "processed", "report_id": report_id, "duplicate": True}
    if not await service.claim(db, report, context.message.task_id):  # another run has it
        return {"status": "skipped", "report_id": report_id, "duplicate": True}
    # Commit before the slow part: an open write transaction would hold SQLite's write lock
    # (and row locks elsewhere) for the whole task, and every other writer would wait.
    await db.commit()
    try:
        result = await service.heavy_processing(report)
    except service.ReportDataError as exc:
        await service.mark_failed(db, report_id, str(exc))
        return {"status": "failed", "report_id": report_id, "error": str(exc)}
    except Exception as exc:
        # Unexpected: keep the reason on the report, then let taskiq record the error.
        await db.rollback()
        await service.mark_failed(db, report_id, f"{type(exc).__name__}: {exc}")
        await db.commit()
        raise
    await service.update_fields(
        db,
        report_id,
        {"status": ReportStatus.COMPLETE, "result": result, "completed_at": utcnow()},
    )
    return {"status": "processed", "report_id": report_id, "worker_pid": os.getpid()}


# Register for monitoring
register_task("process_report", "email_broker", process_report_task)
# --8<-- [end:process_report]
