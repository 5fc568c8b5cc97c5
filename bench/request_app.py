"""The reference app plus one bench-only route: ``POST /reports`` without the enqueue.

    uvicorn bench.request_app:app

``POST /reports`` (the app's own route) writes the row and then ``.kiq()``s the task;
``POST /bench/reports-row-only`` writes the same row and returns. The difference between
their latencies is what enqueueing costs a request.
"""

from __future__ import annotations

from uuid import uuid4

from fastapi import Depends, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.database import get_request_session
from reference_app.main import create_app
from reference_app.modules.reports import service
from reference_app.modules.reports.schemas import ReportCreate, ReportQueued

app = create_app()


# --8<-- [start:row_only]
@app.post(
    "/bench/reports-row-only", status_code=status.HTTP_202_ACCEPTED, response_model=ReportQueued
)
async def create_report_row_only(
    data: ReportCreate, request: Request, db: AsyncSession = Depends(get_request_session)
) -> ReportQueued:
    """Everything ``POST /reports`` does (the row, the same answer) except the enqueue."""
    task_id = uuid4().hex
    report = await service.create(db, data, task_id=task_id)
    return ReportQueued(
        id=report.id,
        task_id=task_id,
        status=report.status,
        status_url=str(request.url_for("get_report", report_id=report.id)),
    )


# --8<-- [end:row_only]
