from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.database import get_request_session
from reference_app.infrastructure.database.types import MAX_ROW_ID
from reference_app.modules.reports import service
from reference_app.modules.reports.schemas import ReportCreate, ReportQueued, ReportRead
from reference_app.modules.reports.settings import get_reports_settings
from reference_app.modules.reports.tasks import process_report_task
from taskiq_extras.health import BrokerUnavailable, enqueue

logger = logging.getLogger(__name__)
ReportId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]  # larger: 422, not a driver error
router = APIRouter(prefix="/reports", tags=["reports"])


# --8<-- [start:enqueue]
@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ReportQueued)
async def create_report(
    data: ReportCreate, request: Request, db: AsyncSession = Depends(get_request_session)
) -> ReportQueued:
    most = get_reports_settings().REPORTS_MAX_DELAY_MS
    if data.delay_ms > most:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"delay_ms may be at most {most} here (REPORTS_MAX_DELAY_MS)",
        )
    # Choose the task id first, so the row knows it before any worker can pick the task up;
    # the broker's own generator makes it (ids that sort by time: brokers.py).
    task_id = process_report_task.broker.id_generator()
    report = await service.create(db, data, task_id=task_id)
    try:
        task = await enqueue(
            process_report_task.kicker().with_task_id(task_id),
            report_id=report.id,
            user_id=data.user_id,
        )
    except BrokerUnavailable as exc:  # answered within 2 s, never a hanging request
        await service.mark_failed(db, report.id, "not queued: the task broker is unavailable")
        await db.commit()
        logger.error("Could not enqueue report %s: %s", report.id, exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the task broker is unavailable, try again"
        ) from None
    return ReportQueued(
        id=report.id,
        task_id=task.task_id,
        status=report.status,
        # A path, not a URL built from the request's Host header, which the client chose.
        status_url=request.app.url_path_for("get_report", report_id=report.id),
    )


# --8<-- [end:enqueue]


@router.get("/{report_id}", response_model=ReportRead)
async def get_report(
    report_id: ReportId, db: AsyncSession = Depends(get_request_session)
) -> ReportRead:
    report = await service.get(db, report_id)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"report {report_id} not found")
    return ReportRead.model_validate(report)
