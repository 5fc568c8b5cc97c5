"""python -m recipes.workers: two worker processes share a batch of tasks."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from recipes.workers.tasks import most_at_once, report_pid
from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.taskiq import email_broker, run_worker
from taskiq_extras.processes import worker_process


async def run_batch(jobs: int, hold_ms: int) -> list[dict]:
    tasks = [await report_pid.kiq(job=n, hold_ms=hold_ms) for n in range(jobs)]
    return [(await task.wait_result(timeout=60)).return_value for task in tasks]


async def main() -> None:
    concurrency = get_settings().TASKIQ_WORKER_CONCURRENCY
    await email_broker.startup()
    try:
        # --8<-- [start:run]
        with worker_process(run_worker, "recipes.workers.tasks", processes=2):
            # Processes start one after the other: wait until both have taken work.
            deadline = time.monotonic() + 60
            while len({r["pid"] for r in await run_batch(4, 300)}) < 2:
                if time.monotonic() > deadline:
                    raise SystemExit("the second worker process never took a task")
            runs = await run_batch(12, 200)
        # --8<-- [end:run]
    finally:
        await email_broker.shutdown()
    per_process = defaultdict(list)
    for run in runs:
        per_process[run["pid"]].append(run)
    print(f"{len(runs)} tasks ran in {len(per_process)} worker processes:")
    for pid, mine in sorted(per_process.items()):
        jobs = sorted(r["job"] for r in mine)
        print(f"  pid {pid}: jobs {jobs}, at most {most_at_once(mine)} at once")
    print(f"each process runs up to TASKIQ_WORKER_CONCURRENCY={concurrency} tasks at once")


if __name__ == "__main__":
    asyncio.run(main())
