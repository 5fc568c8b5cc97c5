"""Runtime schedules: add, list and cancel (admin only, tasks on an allow-list).

The scheduler process (``make scheduler``) reads them again every
TASKIQ_SCHEDULE_REFRESH_SECONDS; where they are kept depends on the broker
(``build_schedule_source``): Redis on Redis, otherwise the app's database.
"""

from __future__ import annotations

import inspect
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status
from taskiq import ScheduleSource, TaskiqDepends
from taskiq.scheduler.scheduled_task import ScheduledTask

from reference_app.infrastructure.security import require_admin
from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq.brokers import schedule_source
from reference_app.modules.schedules.schemas import ScheduleIn, ScheduleOut
from reference_app.modules.schedules.settings import get_schedules_settings

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/schedules", tags=["schedules"], dependencies=[Depends(require_admin)])
DEPENDENCY = type(TaskiqDepends())  # what TaskiqDepends(...) defaults are instances of
ScheduleId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


def _refuse(detail: str) -> HTTPException:
    return HTTPException(422, detail)


def check_call(body: ScheduleIn) -> None:
    """The task is allowed and known, and its arguments fit it: refused now, not at 09:00."""
    allowed = get_schedules_settings().SCHEDULES_ALLOWED_TASKS
    if body.task_name not in allowed:
        raise _refuse(f"task {body.task_name!r} cannot be scheduled; allowed: {allowed}")
    task = email_broker.find_task(body.task_name)
    if task is None:
        raise _refuse(f"task {body.task_name!r} is not a task of the scheduler's broker")
    signature = inspect.signature(task.original_func)
    # Parameters with TaskiqDepends(...) are filled in by the worker, never by the caller.
    params = [p for p in signature.parameters.values() if not isinstance(p.default, DEPENDENCY)]
    try:
        signature.replace(parameters=params).bind(**body.kwargs)
    except TypeError as exc:
        raise _refuse(f"kwargs do not fit {body.task_name}: {exc}") from None


async def _all(source: ScheduleSource) -> list[ScheduledTask]:
    # Some sources list only what is due now (stock taskiq-redis); ours list them all.
    lister: Any = getattr(source, "all_schedules", None) or source.get_schedules
    return await lister()


def _unavailable(exc: Exception) -> HTTPException:
    logger.warning("schedule source unavailable: %s: %s", type(exc).__name__, exc)
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "schedules are unavailable now")


# --8<-- [start:add_schedule]
@router.post("", status_code=status.HTTP_201_CREATED)
async def add_schedule(body: ScheduleIn) -> ScheduleOut:
    check_call(body)
    scheduled = body.to_scheduled_task()
    try:
        await schedule_source.add_schedule(scheduled)
    except Exception as exc:
        raise _unavailable(exc) from None
    return ScheduleOut.of(scheduled)


# --8<-- [end:add_schedule]


@router.get("")
async def list_schedules() -> list[ScheduleOut]:
    try:
        return [ScheduleOut.of(task) for task in await _all(schedule_source)]
    except Exception as exc:
        raise _unavailable(exc) from None


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_schedule(schedule_id: ScheduleId) -> None:
    try:
        known = {task.schedule_id for task in await _all(schedule_source)}
        if schedule_id in known:
            await schedule_source.delete_schedule(schedule_id)
    except Exception as exc:
        raise _unavailable(exc) from None
    if schedule_id not in known:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no schedule {schedule_id!r}")
