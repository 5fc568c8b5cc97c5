"""The ``process_report`` task of FastroAI's Background Tasks page, for real, and how the API
reads the progress it reports."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import Context, TaskiqDepends
from taskiq.depends.progress_tracker import ProgressTracker, TaskState

from reference_app.infrastructure.taskiq import register_task
from reference_app.infrastructure.taskiq.brokers import slow_broker
from reference_app.infrastructure.taskiq.deps import get_db_session
from reference_app.modules.reports import service
from reference_app.modules.reports.models import ReportStatus, utcnow
from reference_app.modules.reports.schemas import ReportProgress
from taskiq_extras.health import STATE

logger = logging.getLogger(__name__)
PROGRESS_READ_TIMEOUT = 1.0  # seconds a GET may spend asking the result backend


class ReportNotFoundError(LookupError):
    pass


# --8<-- [start:process_report]
# Lost connections to the database (or the broker) are retried with backoff (TASKIQ_RETRY_*:
# waits of 1, 2, 4, ... s, at most 60 each, about 4 minutes in all); other errors fail the
# report at once, with the reason. Past that, the sweep (maintenance) takes over.
TRANSIENT = (OSError, TimeoutError, OperationalError, InterfaceError)


# On the second queue (TASKIQ_SLOW_QUEUE=true): a long report never holds up an email.
@slow_broker.task(
    task_name="process_report",
    retry_on_error=True,
    max_retries=10,  # tries in all
    types_of_exceptions=TRANSIENT,
)
async def process_report_task(
    report_id: int,
    user_id: int | None = None,
    db: AsyncSession = TaskiqDepends(get_db_session),
    context: Context = TaskiqDepends(),
    progress: ProgressTracker[dict[str, int]] = TaskiqDepends(),
) -> dict[str, Any]:
    """Process a report in the background, reporting how far it got as it goes."""
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

    async def report_progress(percent: int) -> None:
        # The result backend keeps the last one; GET /reports/{id} reads it. It is only for
        # display: a write that fails is logged, never a reason to fail the report.
        try:
            await progress.set_progress(TaskState.STARTED, {"percent": percent})
        except Exception as exc:
            logger.warning("Report %s: progress %d%% not stored: %s", report_id, percent, exc)

    try:
        result = await service.heavy_processing(report, on_progress=report_progress)
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
register_task("process_report", "slow_broker", process_report_task)
# --8<-- [end:process_report]


# --8<-- [start:read_progress]
async def read_progress(task_id: str) -> ReportProgress | None:
    """The last progress the task reported, from the result backend; None if it reported
    none yet (or it expired), or if the backend cannot answer now: a status page should not
    fail because of it."""
    if not STATE.ready:  # the broker client is not started (its server is down): no backend
        return None
    backend = process_report_task.broker.result_backend
    try:
        async with asyncio.timeout(PROGRESS_READ_TIMEOUT):
            stored = await backend.get_progress(task_id)
    except Exception as exc:  # a timeout, a lost connection: the report itself is still read
        logger.warning("Could not read the progress of task %s: %s", task_id, exc)
        return None
    if stored is None:
        return None
    # In-process (TASKIQ_ENABLED=false) the backend hands back the enum itself, not its text.
    state = stored.state.value if isinstance(stored.state, TaskState) else str(stored.state)
    percent = stored.meta.get("percent") if isinstance(stored.meta, dict) else None
    if not isinstance(percent, int) or not 0 <= percent <= 100:
        percent = None  # not what process_report writes: say nothing rather than fail
    return ReportProgress(state=state, percent=percent)


# --8<-- [end:read_progress]
