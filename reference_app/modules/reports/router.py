from __future__ import annotations

import logging
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.database import get_request_session
from reference_app.infrastructure.database.types import MAX_ROW_ID
from reference_app.modules.reports import service
from reference_app.modules.reports.models import ReportStatus
from reference_app.modules.reports.schemas import ReportCreate, ReportQueued, ReportRead
from reference_app.modules.reports.settings import get_reports_settings
from reference_app.modules.reports.tasks import process_report_task, read_progress
from taskiq_extras.health import BrokerUnavailable, enqueue

logger = logging.getLogger(__name__)
ReportId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]  # larger: 422, not a driver error
router = APIRouter(prefix="/reports", tags=["reports"])
HERE = FilePath(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# The watch page runs only its own script, from this app, and talks only to this app.
WATCH_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
ASSET_TYPES = {"watch.js": "text/javascript", "watch.css": "text/css"}


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


# --8<-- [start:get_report]
@router.get("/{report_id}", response_model=ReportRead)
async def get_report(
    report_id: ReportId, db: AsyncSession = Depends(get_request_session)
) -> ReportRead:
    report = await service.get(db, report_id)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"report {report_id} not found")
    found = ReportRead.model_validate(report)
    # Progress only means something while the task runs; the row has the rest.
    if report.status == ReportStatus.PROCESSING and report.task_id:
        found.progress = await read_progress(report.task_id)
    return found


# --8<-- [end:get_report]


@router.get("/{report_id}/watch", response_class=HTMLResponse)
async def watch_report(
    report_id: ReportId, db: AsyncSession = Depends(get_request_session)
) -> HTMLResponse:
    """A page with a progress bar that follows the report (it polls GET /reports/{id})."""
    report = await service.get(db, report_id)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"report {report_id} not found")
    page = templates.get_template("watch.html").render(report=report)
    return HTMLResponse(page, headers={"Content-Security-Policy": WATCH_PAGE_POLICY})


@router.get("/assets/{name}", include_in_schema=False)
async def watch_asset(name: Literal["watch.js", "watch.css"]) -> FileResponse:
    """The watch page's script and style: files of this app, never a CDN (works offline)."""
    return FileResponse(
        HERE / "static" / name,
        media_type=ASSET_TYPES[name],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )
