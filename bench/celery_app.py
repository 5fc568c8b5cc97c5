"""Celery 5 on the same Redis, for comparison (the ``bench`` extra). Not used by the app.

celery -A bench.celery_app worker -P prefork -c 2 -Q <queue>
"""

from __future__ import annotations

import os
import time

from celery import Celery

from bench import probe

QUEUE = os.environ.get("BENCH_QUEUE", "bench-celery")
app = Celery("bench", broker=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
app.conf.update(
    task_ignore_result=True,
    task_default_queue=QUEUE,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="bench.noop")
def noop() -> None:
    probe.hit(time.time())


def fill(count: int) -> dict:
    started = time.perf_counter()
    for _ in range(count):
        noop.delay()
    elapsed = time.perf_counter() - started
    return {"count": count, "seconds": elapsed, "enqueue_per_s": count / elapsed}


if __name__ == "__main__":  # python -m bench.celery_app <count>: the producer
    import json
    import sys

    from bench.celery_app import fill as fill_here  # one app, the one the worker imports

    print(json.dumps(fill_here(int(sys.argv[1]))))
