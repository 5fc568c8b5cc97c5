"""python -m recipes.progress: a worker imports rows and reports progress; we watch it."""

from __future__ import annotations

import asyncio

from recipes.progress.tasks import how_far, import_rows
from reference_app.infrastructure.taskiq import email_broker, run_worker
from taskiq_extras.processes import worker_process


async def main() -> None:
    await email_broker.startup()  # the client side: lets this process enqueue and read
    try:
        with worker_process(run_worker, "recipes.progress.tasks"):
            # --8<-- [start:poll]
            task = await import_rows.kiq(total=1000, chunk=100)
            print(f"queued progress.import_rows, task id {task.task_id}")
            last = None
            while (now := await how_far(task.task_id)) != "done":
                if now != last:  # print each change once; a quick task may skip some
                    print(f"  {now}")
                    last = now
                await asyncio.sleep(0.05)
            result = await task.wait_result(timeout=30)
            print(f"result: {result.return_value}")
            # --8<-- [end:poll]
            # Our backends and taskiq-redis's keep the last progress after the result, until
            # it expires as results do (TASKIQ_RESULT_TTL_SECONDS after it was set).
            kept = await task.get_progress()
            print(f"after the result, the last progress is still stored: {kept.meta}")
    finally:
        await email_broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
