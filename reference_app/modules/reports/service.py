"""Reports' data access and the 'heavy' processing, free of HTTP and of taskiq."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Awaitable, Callable
from datetime import timedelta
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
        .values(
            status=ReportStatus.PROCESSING,
            runs=report.runs + 1,
            task_id=task_id,
            started_at=utcnow(),
        )
    )
    return claimed.rowcount == 1


async def mark_failed(db: AsyncSession, report_id: int, reason: str) -> None:
    await update_fields(
        db, report_id, {"status": ReportStatus.FAILED, "error": reason, "completed_at": utcnow()}
    )


# --8<-- [start:sweep]
async def sweep(
    db: AsyncSession, *, requeue_after: float, stuck_after: float, max_requeues: int,
    new_task_id: Callable[[], str],
) -> tuple[list[tuple[int, str]], list[int]]:  # fmt: skip
    """Reports that waited too long: queued (their message lost?) or processing (their worker
    gone after the broker gave up on it?). Each is set back to queued under a new task id, to
    be enqueued again, or, past ``max_requeues``, marked failed with the reason. Returns the
    (report id, task id) pairs to enqueue and the ids marked failed. Safe beside a run that
    is merely slow: a run must claim the report (``claim``), and only one claim wins."""
    now = utcnow()
    late = (
        (Report.status == ReportStatus.QUEUED)
        & (Report.created_at < now - timedelta(seconds=requeue_after))
        & (
            (Report.started_at.is_(None))
            | (Report.started_at < now - timedelta(seconds=requeue_after))
        )
    ) | (
        (Report.status == ReportStatus.PROCESSING)
        & (Report.started_at < now - timedelta(seconds=stuck_after))
    )
    again, failed = [], []
    for report in (await db.execute(select(Report).where(late))).scalars():
        if report.requeues >= max_requeues:
            reason = (f"{report.status} for too long, {report.requeues} times: no worker "
                      "finished it (are the workers of its queue running?)")  # fmt: skip
            await mark_failed(db, report.id, reason)
            failed.append(report.id)
            continue
        task_id = new_task_id()
        done = await db.execute(
            update(Report)
            .where(
                Report.id == report.id,
                Report.status == report.status,
                Report.requeues == report.requeues,
            )
            .values(
                status=ReportStatus.QUEUED,
                task_id=task_id,
                requeues=report.requeues + 1,
                started_at=now,
            )  # started_at: the time it was queued again
        )
        if done.rowcount == 1:  # else a run claimed or finished it meanwhile: leave it
            again.append((report.id, task_id))
    await db.commit()
    return again, failed


# --8<-- [end:sweep]


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
