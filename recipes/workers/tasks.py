"""A task that says which worker process ran it, and when."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from reference_app.infrastructure.taskiq import email_broker, register_task


# --8<-- [start:task]
@email_broker.task(task_name="workers.report_pid")
async def report_pid(job: int, hold_ms: int = 200) -> dict[str, Any]:
    """Waits like an I/O-bound task would (an HTTP call, a query) and reports its process."""
    started = time.time()
    await asyncio.sleep(hold_ms / 1000)
    return {"job": job, "pid": os.getpid(), "started": started, "finished": time.time()}


register_task("workers.report_pid", "email_broker", report_pid)
# --8<-- [end:task]


def most_at_once(runs: list[dict[str, Any]]) -> int:
    """The largest number of these runs that overlapped in time."""
    edges = sorted([(r["started"], 1) for r in runs] + [(r["finished"], -1) for r in runs])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak
