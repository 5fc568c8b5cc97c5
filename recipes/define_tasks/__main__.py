"""python -m recipes.define_tasks: define, enqueue and run three tasks on a real worker."""

from __future__ import annotations

import asyncio

from recipes.define_tasks.tasks import Invoice, rebuild_index, summarise, total_invoice
from reference_app.infrastructure.taskiq import email_broker, run_worker
from reference_app.infrastructure.taskiq.registry import registered_tasks
from taskiq_extras.processes import worker_process


async def main() -> None:
    await email_broker.startup()  # the client side: lets this process enqueue
    try:
        # --8<-- [start:run]
        with worker_process(run_worker, "recipes.define_tasks.tasks"):  # a separate worker process
            jobs = [
                await summarise.kiq([3, 4, 8]),
                await total_invoice.kiq(Invoice(number="INV-7", lines=[100, 50])),
                await rebuild_index.kiq(documents=1200),
            ]
            for job in jobs:
                result = await job.wait_result(timeout=30)
                print(f"{job.task_id[:8]}  ->  {result.return_value}")
        # --8<-- [end:run]
        names = ", ".join(t.name for t in registered_tasks() if t.name.startswith("define_tasks"))
        print(f"registered: {names}")
    finally:
        await email_broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
