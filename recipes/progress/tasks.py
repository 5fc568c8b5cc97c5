"""A long task that says how far it got, and how any process reads that from the task id."""

from __future__ import annotations

import asyncio

from taskiq import AsyncTaskiqTask, TaskiqDepends
from taskiq.depends.progress_tracker import ProgressTracker, TaskState

from reference_app.infrastructure.taskiq import email_broker, register_task


# --8<-- [start:task]
@email_broker.task(task_name="progress.import_rows")
async def import_rows(
    total: int,
    chunk: int = 100,
    seconds_per_chunk: float = 0.2,
    progress: ProgressTracker[dict[str, int]] = TaskiqDepends(),  # filled in by the worker
) -> dict[str, int]:
    """Import ``total`` rows a chunk at a time, reporting the count after each chunk."""
    done = 0
    while done < total:
        await asyncio.sleep(seconds_per_chunk)  # stands in for writing one chunk of rows
        done = min(done + chunk, total)
        # One write to the result backend, in place of the last one: keep it coarse.
        await progress.set_progress(TaskState.STARTED, {"done": done, "total": total})
    return {"imported": done}


register_task("progress.import_rows", "email_broker", import_rows)
# --8<-- [end:task]


# --8<-- [start:read]
async def how_far(task_id: str) -> str:
    """What a status route or a script shows, from the task id alone, in any process."""
    task: AsyncTaskiqTask[dict[str, int]] = AsyncTaskiqTask(task_id, email_broker.result_backend)
    if await task.is_ready():  # finished: the result is the answer, not the progress
        return "done"
    progress = await task.get_progress()  # the last one the task set, or None
    if progress is None:
        return "queued (no progress yet)"
    return f"{progress.state}: {progress.meta['done']}/{progress.meta['total']} rows"


# --8<-- [end:read]
