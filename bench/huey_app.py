"""Huey's SqliteHuey, the embedded peer of our SQLite broker (the ``bench`` extra).

huey_consumer bench.huey_app.huey -w 2 -k process -q
"""

from __future__ import annotations

import os
import time

from huey import SqliteHuey

from bench import probe

huey = SqliteHuey(
    "bench", filename=os.environ.get("BENCH_HUEY_PATH", "/tmp/bench-huey.db"), results=False
)


@huey.task()
def noop() -> None:
    probe.hit(time.time())


def fill(count: int) -> dict:
    started = time.perf_counter()
    for _ in range(count):
        noop()
    elapsed = time.perf_counter() - started
    return {"count": count, "seconds": elapsed, "enqueue_per_s": count / elapsed}


if __name__ == "__main__":  # python -m bench.huey_app <count>: the producer
    import json
    import sys

    from bench.huey_app import fill as fill_here  # the task's name is bench.huey_app.noop

    print(json.dumps(fill_here(int(sys.argv[1]))))
