"""The registry, task runs and statistics: JSON for tools, one HTML page for people."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import get_request_session
from reference_app.infrastructure.security import require_admin
from reference_app.infrastructure.taskiq.brokers import email_broker
from reference_app.infrastructure.taskiq.registry import registered_tasks, tasks_per_broker
from reference_app.modules.monitoring import service
from taskiq_extras.dead_letters import (
    DeadLetterNotFound,
    DeadLettersUnsupported,
    NotReplayable,
    list_dead_letters,
    replay_dead_letter,
)
from taskiq_extras.health import STATE

logger = logging.getLogger(__name__)
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
    db: AsyncSession = Depends(get_request_session),
) -> dict[str, Any]:
    total, items = await service.list_runs(
        db, task_name=task_name, status=status, since=since, limit=limit, offset=offset
    )
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/runs/{task_id}")
async def run(task_id: str, db: AsyncSession = Depends(get_request_session)) -> dict[str, Any]:
    found = await service.get_run(db, task_id)
    if found is None:
        raise HTTPException(404, f"no run recorded for task {task_id}")
    return found


@router.get("/stats")
async def stats(
    window_seconds: float = Query(3600, gt=0, le=30 * 24 * 3600),
    db: AsyncSession = Depends(get_request_session),
) -> dict[str, Any]:
    return await service.stats(db, window_seconds=window_seconds)


BROKER_TIMEOUT = 10.0  # seconds an admin call may wait for the broker


async def _on_broker(call: Any) -> Any:
    """Run a dead-letter call; a broker that is down or silent gives a 503, not a hang."""
    if not STATE.ready:
        call.close()
        raise HTTPException(503, f"the task broker is unavailable: {STATE.last_error}")
    try:
        return await asyncio.wait_for(call, BROKER_TIMEOUT)
    except DeadLettersUnsupported as exc:
        raise HTTPException(409, str(exc)) from None
    except TimeoutError:
        raise HTTPException(503, "the task broker did not answer in time") from None
    except (ConnectionError, OSError, RuntimeError) as exc:
        logger.error("Dead letters: the broker failed: %s", type(exc).__name__)
        raise HTTPException(503, "the task broker is unavailable, try again") from None


# --8<-- [start:dead_letters]
@router.get("/dead-letters")
async def dead_letters(limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    """Messages moved aside (malformed, unknown task, bad arguments, too many deliveries)."""
    letters = await _on_broker(list_dead_letters(email_broker, limit=limit))
    return {
        "broker": get_settings().broker_location(),
        "items": [letter.as_dict() for letter in letters],
    }


@router.post("/dead-letters/{letter_id}/replay")
async def replay(letter_id: str) -> dict[str, Any]:
    """Put one back on the task queue, once its cause is fixed; 409 if it cannot run."""
    try:
        letter = await _on_broker(replay_dead_letter(email_broker, letter_id))
    except DeadLetterNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotReplayable as exc:
        raise HTTPException(409, str(exc)) from None
    return {"replayed": letter.id, "task_id": letter.task_id, "task_name": letter.task_name}


# --8<-- [end:dead_letters]


@router.get("", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, db: AsyncSession = Depends(get_request_session)) -> HTMLResponse:
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
