"""The producer process of the taskiq cases: one client, tasks sent one after another.

    python -m bench.producer fill <count> [--task bench.noop]
    python -m bench.producer rate 200 [--seconds 3]

The broker is ``bench.apps.broker`` (chosen by ``BENCH_CASE``). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from bench.apps import broker, latency


# --8<-- [start:fill]
async def fill(count: int, task_name: str, timed: int = 2000) -> dict:
    """The first ``timed`` tasks one after another (the single-producer enqueue rate), the
    rest 100 at a time (only to fill the queue sooner)."""
    task = broker.find_task(task_name)
    assert task is not None, task_name
    timed = min(timed, count)
    started = time.perf_counter()
    for _ in range(timed):
        await task.kiq()
    elapsed = time.perf_counter() - started
    for start in range(timed, count, 100):
        await asyncio.gather(*(task.kiq() for _ in range(min(100, count - start))))
    return {"count": count, "timed": timed, "seconds": elapsed, "enqueue_per_s": timed / elapsed}


# --8<-- [end:fill]


# --8<-- [start:rates]
async def at_rate(rate: float, seconds: float) -> dict:
    """Send ``rate`` tasks per second for ``seconds``, each stamped with its send time."""
    count = int(rate * seconds)
    started = time.perf_counter()
    for n in range(count):
        due = started + n / rate
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        await latency.kiq(time.time(), rate)
    elapsed = time.perf_counter() - started
    return {"rate": rate, "sent": count, "achieved_per_s": count / elapsed}


# --8<-- [end:rates]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["fill", "rate"])
    parser.add_argument("value")
    parser.add_argument("--task", default="bench.noop")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    await broker.startup()
    try:
        if args.mode == "fill":
            out = await fill(int(args.value), args.task)
        else:
            out = await at_rate(float(args.value), args.seconds)
    finally:
        await broker.shutdown()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
