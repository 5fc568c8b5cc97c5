"""Enqueueing from a service function: no FastAPI here, so scripts and CLIs can call it too."""

from __future__ import annotations

from uuid import uuid4

from recipes.enqueue.tasks import make_thumbnail


# --8<-- [start:service]
async def request_thumbnail(image_id: int, width: int = 128) -> str:
    """Queue the work and return its task id at once; a worker does the rest."""
    task = await make_thumbnail.kiq(image_id=image_id, width=width)
    return task.task_id


# --8<-- [end:service]


# --8<-- [start:kicker]
async def request_urgent_thumbnail(image_id: int) -> str:
    """Choose the task id yourself, and attach labels to this one message."""
    task_id = f"thumb-{image_id}-{uuid4().hex[:8]}"  # e.g. saved on a row before queueing
    task = (
        await make_thumbnail.kicker()
        .with_task_id(task_id)
        .with_labels(priority="high", requested_by="service")
        .kiq(image_id=image_id, width=512)
    )
    return task.task_id  # == task_id


# --8<-- [end:kicker]
