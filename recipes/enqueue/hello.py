"""A first task of your own: a worker process runs it; this script enqueues it and reads its
result. Getting started has you copy it to the root of the repository as ``hello.py``.
"""

# --8<-- [start:task]
import asyncio
import logging
import os

from taskiq.exceptions import TaskiqResultTimeoutError

from reference_app.infrastructure.taskiq import email_broker

logger = logging.getLogger(__name__)


@email_broker.task(task_name="hello.greet")
async def greet(name: str) -> str:
    logger.info("greeting %s", name)  # shows in the worker's terminal
    await asyncio.sleep(0.5)  # stands in for slow work: an email, an API call
    return f"Hello, {name}! (from worker process {os.getpid()})"


# --8<-- [end:task]


# --8<-- [start:enqueue]
async def main() -> None:
    await email_broker.startup()  # connect as a client, as the app's lifespan does
    try:
        task = await greet.kiq("Ada")  # returns as soon as the message is queued
        print(f"queued hello.greet, task id {task.task_id}")
        result = await task.wait_result(timeout=10)  # never wait without a timeout
    except TaskiqResultTimeoutError:
        print("no result after 10 s: is a worker running on the same queue?")
        return
    finally:
        await email_broker.shutdown()
    if result.is_err:
        print(f"failed: {result.error}")
    else:
        print(f"result: {result.return_value}")
    print(f"(this script is process {os.getpid()})")


if __name__ == "__main__":
    asyncio.run(main())
# --8<-- [end:enqueue]
