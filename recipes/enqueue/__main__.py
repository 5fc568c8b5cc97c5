"""python -m recipes.enqueue: queue tasks from a service, with an id and labels, and wait wisely."""

from __future__ import annotations

import asyncio

from taskiq.exceptions import TaskiqResultTimeoutError

from recipes.enqueue.service import request_thumbnail, request_urgent_thumbnail
from recipes.enqueue.tasks import export_archive, make_thumbnail
from reference_app.infrastructure.taskiq import email_broker, run_worker
from taskiq_extras.processes import worker_process


async def main() -> None:
    await email_broker.startup()  # the client side: lets this process enqueue
    try:
        with worker_process(run_worker, "recipes.enqueue.tasks"):
            task_id = await request_thumbnail(image_id=7)
            print(f"queued make_thumbnail, task id {task_id}")

            urgent_id = await request_urgent_thumbnail(image_id=8)
            print(f"queued with our own id {urgent_id}")

            # --8<-- [start:wait]
            task = await make_thumbnail.kiq(image_id=9, width=64)
            result = await task.wait_result(timeout=30)  # never wait without a timeout
            if result.is_err:
                print(f"failed: {result.error}")
            else:
                print(f"result: {result.return_value['path']}")
            # --8<-- [end:wait]

            # --8<-- [start:timeout]
            slow = await export_archive.kiq(seconds=3)
            try:
                await slow.wait_result(timeout=0.5)
            except TaskiqResultTimeoutError:
                # The task is not cancelled: it is still queued or running on a worker.
                print("export not ready after 0.5 s: still running, ask again later")
            # --8<-- [end:timeout]
            done = await slow.wait_result(timeout=30)
            print(f"export: {done.return_value}")
    finally:
        await email_broker.shutdown()
    print("route: uvicorn recipes.enqueue.app:app, then POST /thumbnails answers 202 at once")


if __name__ == "__main__":
    asyncio.run(main())
