"""The registry, task runs and statistics: JSON for tools, one HTML page for people."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import get_session
from reference_app.infrastructure.security import require_admin
from reference_app.infrastructure.taskiq.registry import registered_tasks, tasks_per_broker
from reference_app.modules.monitoring import service

router = APIRouter(prefix="/tasks", tags=["tasks"], dependencies=[Depends(require_admin)])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
Status = Literal["queued", "started", "retried", "retrying", "succeeded", "failed"]


@router.get("/registry")
async def registry() -> dict[str, Any]:
    """Every registered task: name, broker, module, function, labels; and tasks per broker."""
    return {
        "tasks": [task.as_dict() for task in registered_tasks()],
        "tasks_per_broker": tasks_per_broker(),
    }


@router.get("/runs")
async def runs(
    task_name: str | None = None,
    status: Status | None = None,
    since: float | None = Query(None, description="only runs updated since (epoch seconds)"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    db: AsyncSession = Depends(get_session),
) -> dict[str, Any]:
    total, items = await service.list_runs(
        db, task_name=task_name, status=status, since=since, limit=limit, offset=offset
    )
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/runs/{task_id}")
async def run(task_id: str, db: AsyncSession = Depends(get_session)) -> dict[str, Any]:
    found = await service.get_run(db, task_id)
    if found is None:
        raise HTTPException(404, f"no run recorded for task {task_id}")
    return found


@router.get("/stats")
async def stats(
    window_seconds: float = Query(3600, gt=0, le=30 * 24 * 3600),
    db: AsyncSession = Depends(get_session),
) -> dict[str, Any]:
    return await service.stats(db, window_seconds=window_seconds)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, db: AsyncSession = Depends(get_session)) -> HTMLResponse:
    _, latest = await service.list_runs(db, limit=25)
    return templates.TemplateResponse(
        request,
        "tasks.html",
        {
            "registry": registered_tasks(),
            "stats": await service.stats(db, window_seconds=3600),
            "latest": latest,
            "broker": get_settings().broker_location(),
            "generated": time.strftime("%H:%M:%S"),
        },
    )
