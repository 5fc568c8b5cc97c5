"""Two tasks to enqueue: a quick one, and one slower than its caller is willing to wait."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from reference_app.infrastructure.taskiq import email_broker, register_task


# --8<-- [start:tasks]
@email_broker.task(task_name="enqueue.make_thumbnail")
async def make_thumbnail(image_id: int, width: int = 128) -> dict[str, Any]:
    """Stands in for real work (resize an image, call an API): a few milliseconds here."""
    await asyncio.sleep(0.05)
    path = f"thumbs/{image_id}-{width}.png"
    return {"image_id": image_id, "width": width, "path": path, "worker_pid": os.getpid()}


register_task("enqueue.make_thumbnail", "email_broker", make_thumbnail)


@email_broker.task(task_name="enqueue.export_archive")
async def export_archive(seconds: float) -> str:
    """A long job: nobody should sit and wait for this one."""
    await asyncio.sleep(seconds)
    return f"archive ready after {seconds:g} s"


register_task("enqueue.export_archive", "email_broker", export_archive)
# --8<-- [end:tasks]
