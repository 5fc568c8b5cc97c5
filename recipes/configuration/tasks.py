"""A task that reports the settings its worker process was started with."""

from __future__ import annotations

from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.taskiq import email_broker, register_task


# --8<-- [start:task]
@email_broker.task(task_name="configuration.where_am_i")
async def where_am_i() -> dict[str, str]:
    """The worker reads the same variables as the web process: it must, to share a queue."""
    settings = get_settings()
    return {"broker": settings.broker_location(), "queue": settings.TASKIQ_QUEUE_NAME}


register_task("configuration.where_am_i", "email_broker", where_am_i)
# --8<-- [end:task]
