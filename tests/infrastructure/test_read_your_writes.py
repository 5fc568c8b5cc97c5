"""Read your own writes: once ``set_result`` returns, every reader sees the result.

The results of a busy worker are written in group commits (with the acks of that moment); the
batching must never let ``set_result`` return before its result is stored. 1,000 set-then-read
pairs per backend, 50 at a time so that writes share batches, from the worker's backend to a
second, separate reader (another process's view, as the API's would be).
"""

from __future__ import annotations

import asyncio

import pytest
from taskiq import TaskiqResult

from reference_app.infrastructure.taskiq.brokers import build_broker

pytestmark = pytest.mark.broker
PAIRS, AT_ONCE = 1000, 50


async def test_a_result_is_readable_as_soon_as_set_result_returns(broker_env):
    settings = broker_env.settings()
    worker = build_broker(settings)
    worker.is_worker_process = True  # its result backend is the one a worker writes with
    reader = build_broker(settings)  # a separate client: what the API process reads with
    await worker.startup()
    await reader.startup()
    misses: list[str] = []

    async def pair(n: int) -> None:
        task_id = f"{broker_env.queue}-{n}"
        result = TaskiqResult(is_err=False, return_value=n, execution_time=0.001)
        await worker.result_backend.set_result(task_id, result)
        if not await reader.result_backend.is_result_ready(task_id):
            misses.append(task_id)
        elif (await reader.result_backend.get_result(task_id)).return_value != n:
            misses.append(f"{task_id}: wrong value")

    try:
        for start in range(0, PAIRS, AT_ONCE):
            await asyncio.gather(*(pair(n) for n in range(start, start + AT_ONCE)))
    finally:
        await reader.shutdown()
        await worker.shutdown()
    assert misses == []
