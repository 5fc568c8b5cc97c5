"""A task that reports progress step by step, in lockstep with the test that reads it.

Passed to the worker as an extra module (``run_worker tests.support.progress_tasks``). After
each ``set_progress`` returns, the task leaves a mark in a folder the test names, then waits
for the test's answer: the test reads the progress once (no retry) as soon as the mark is
there, so what it checks is "readable right after it is set", not "readable eventually".
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from taskiq import TaskiqDepends
from taskiq.depends.progress_tracker import ProgressTracker, TaskState

from reference_app.infrastructure.taskiq import email_broker

ANSWER_TIMEOUT = 30.0  # seconds the task waits for the test to read a step


async def _wait_for_file(path: Path) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while not await asyncio.to_thread(path.exists):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nobody read the progress in time ({path.name} never came)")
        await asyncio.sleep(0.01)


@email_broker.task(task_name="probe.report_steps")
async def report_steps(
    folder: str,
    steps: int,
    progress: ProgressTracker[dict[str, int]] = TaskiqDepends(),
) -> int:
    marks = Path(folder)
    for step in range(1, steps + 1):
        await progress.set_progress(TaskState.STARTED, {"step": step, "of": steps})
        (marks / f"set-{step}").touch()
        await _wait_for_file(marks / f"read-{step}")
    # No meta: ProgressTracker reads the last progress back (get_progress, in the worker)
    # and keeps its meta under the new state.
    await progress.set_progress(TaskState.SUCCESS)
    (marks / "set-done").touch()
    await _wait_for_file(marks / "read-done")
    return steps
