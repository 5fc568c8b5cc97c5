"""python -m recipes.queues: slow exports on their own queue; a receipt is sent at once anyway."""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import nullcontext

# The second queue is a setting, read when the brokers are built: before the imports below.
os.environ.setdefault("TASKIQ_SLOW_QUEUE", "true")

from recipes.queues.tasks import build_export, send_receipt
from reference_app.infrastructure.taskiq import email_broker, run_worker
from reference_app.infrastructure.taskiq.brokers import (
    app_brokers,
    load_settings,
    slow_broker,
    start_brokers,
)
from taskiq_extras.processes import worker_process

TASKS = "recipes.queues.tasks"


async def main() -> None:
    await start_brokers(load_settings())  # the client side of both brokers
    try:
        # --8<-- [start:workers]
        two_queues = slow_broker is not email_broker  # TASKIQ_SLOW_QUEUE=true
        with (
            worker_process(run_worker, TASKS),  # the default queue: receipts
            # the slow queue, exports: workers of its own
            worker_process(run_worker, TASKS, "--queue", "slow") if two_queues else nullcontext(),
        ):
            # --8<-- [end:workers]
            for warm_up in (send_receipt.kiq(order_id=0), build_export.kiq(0, seconds=0)):
                await (await warm_up).wait_result(timeout=60)  # both workers are listening
            # --8<-- [start:kiq]
            exports = [await build_export.kiq(order_id=n, seconds=3) for n in (1, 2)]
            queued = time.time()
            receipt = await send_receipt.kiq(order_id=3)
            sent = (await receipt.wait_result(timeout=30)).return_value
            # --8<-- [end:kiq]
            queue = load_settings().TASKIQ_QUEUE_NAME
            print(
                f"exports queued on {queue + '.slow' if two_queues else queue}, receipt on {queue}"
            )
            print(f"receipt sent within a second: {sent['sent_at'] - queued < 1}")
            finished = [(await task.wait_result(timeout=30)).return_value for task in exports]
            ran_first = all(sent["sent_at"] < done["finished_at"] for done in finished)
            print(f"receipt sent while both exports still ran: {ran_first}")
    finally:
        for broker in app_brokers():  # each broker object once
            await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
