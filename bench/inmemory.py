"""taskiq's InMemoryBroker: the task runs inside the caller's process (TASKIQ_ENABLED=false).

    python -m bench.inmemory <count>

No worker process and no queue: what is left is taskiq's own cost per task. Prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

os.environ["BENCH_CASE"] = "inmemory"

from bench import probe
from bench.apps import broker, noop


async def main(count: int) -> dict:
    await broker.startup()
    started = time.perf_counter()
    for _ in range(count):
        await noop.kiq()
    enqueued = time.perf_counter() - started
    await broker.wait_all()
    await broker.shutdown()
    state = probe._state
    return {
        "count": state["count"],
        "enqueue_per_s": count / enqueued,
        "seconds": state["last_end"] - state["first_start"],
        "cpu_seconds": state["cpu_last"] - state["cpu_first"],
        "first_start": state["first_start"],
        "last_end": state["last_end"],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1])))))
