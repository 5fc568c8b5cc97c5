"""taskiq-redis's ListQueueBroker, bare, for bench/listqueue_loss.py. Not used by the app."""

from __future__ import annotations

import asyncio
import os
import sqlite3

from taskiq_redis import ListQueueBroker

QUEUE = os.environ.get("BENCH_QUEUE", "bench-listqueue")
broker = ListQueueBroker(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
                         queue_name=QUEUE)  # fmt: skip


@broker.task(task_name="bench.record")
async def record(path: str, key: str, hold_ms: int) -> None:
    await asyncio.sleep(hold_ms / 1000)
    with sqlite3.connect(path, timeout=30) as db:
        db.execute("CREATE TABLE IF NOT EXISTS done (key TEXT)")
        db.execute("INSERT INTO done VALUES (?)", (key,))
