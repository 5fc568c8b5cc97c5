"""Reports' data access and the 'heavy' processing, free of HTTP and of taskiq."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.modules.reports.models import Report, ReportStatus, utcnow
from reference_app.modules.reports.schemas import ReportCreate


class ReportDataError(ValueError):
    """The report's data cannot be processed; the report is marked failed with this reason."""


async def create(db: AsyncSession, data: ReportCreate, task_id: str) -> Report:
    report = Report(
        title=data.title,
        values=data.values,
        delay_ms=data.delay_ms,
        user_id=data.user_id,
        task_id=task_id,
        status=ReportStatus.QUEUED,
    )
    db.add(report)
    await db.commit()
    return report


async def get(db: AsyncSession, report_id: int) -> Report | None:
    return await db.get(Report, report_id)


async def update_fields(db: AsyncSession, report_id: int, values: dict[str, Any]) -> None:
    await db.execute(update(Report).where(Report.id == report_id).values(**values))


async def claim(db: AsyncSession, report: Report, task_id: str) -> bool:
    """Start a run of ``report`` for the message ``task_id``: one UPDATE that one run wins.

    A report still queued can be claimed by any message for it; one being processed only by
    a new delivery of *its own* message (the broker gives a message to another worker when
    the first one died). Each run also expects the ``runs`` count it read, so of two runs
    that read the same row at once, only the first to write gets it.
    """
    mine = (Report.status == ReportStatus.QUEUED) | (
        (Report.status == ReportStatus.PROCESSING) & (Report.task_id == task_id)
    )
    claimed = await db.execute(
        update(Report)
        .where(Report.id == report.id, Report.runs == report.runs, mine)
        .values(status=ReportStatus.PROCESSING, runs=report.runs + 1, task_id=task_id)
    )
    return claimed.rowcount == 1


async def mark_failed(db: AsyncSession, report_id: int, reason: str) -> None:
    await update_fields(
        db, report_id, {"status": ReportStatus.FAILED, "error": reason, "completed_at": utcnow()}
    )


async def count_by_status(db: AsyncSession) -> dict[str, int]:
    rows = await db.execute(select(Report.status, func.count()).group_by(Report.status))
    return {status: count for status, count in rows}


# Progress is reported after each slice of the simulated work: at most this many times, and
# no more often than every PROGRESS_SLICE_MS (each report is a write to the result backend).
PROGRESS_UPDATES = 20
PROGRESS_SLICE_MS = 100


async def heavy_processing(
    report: Report, on_progress: Callable[[int], Awaitable[None]] | None = None
) -> dict[str, Any]:
    """Summarise the report's values. ``delay_ms`` stands in for real, slow work.

    ``on_progress(percent)`` is awaited as the work advances: 0 at the start, then after each
    slice of it, up to 100 once the summary is ready.
    """
    if on_progress is not None:
        await on_progress(0)
    if report.delay_ms:
        slices = max(1, min(PROGRESS_UPDATES, report.delay_ms // PROGRESS_SLICE_MS))
        for done in range(1, slices + 1):
            await asyncio.sleep(report.delay_ms / 1000 / slices)
            if on_progress is not None and done < slices:
                await on_progress(100 * done // slices)
    values = list(report.values or [])
    if not values:
        raise ReportDataError("cannot summarise an empty data set: send at least one value")
    if not all(math.isfinite(v) for v in values):
        raise ReportDataError("values must be finite numbers")
    summary = {
        "count": len(values),
        "sum": math.fsum(values),
        "mean": statistics.fmean(values),
        "min": min(values),
        "max": max(values),
        "stdev": statistics.pstdev(values),
    }
    if on_progress is not None:
        await on_progress(100)
    return summary
