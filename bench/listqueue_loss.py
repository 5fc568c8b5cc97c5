"""How many tasks does a SIGKILLed worker lose on taskiq-redis's ListQueueBroker?

    python -m bench.listqueue_loss [--tasks 200] [--concurrency 4]

Same scenario as tests/reference_app/test_faults.py, which checks that our three brokers
lose none: all tasks queued first, one worker process with N concurrent slots, the whole
worker killed with SIGKILL after 20 tasks are done, a new worker started, and we count what
never ran.
Writes bench/results/listqueue_loss.json and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = "redis://127.0.0.1:6379/13"


def done_count(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=30) as db:
            return db.execute("SELECT count(DISTINCT key) FROM done").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def start_worker(env: dict[str, str], concurrency: int, log) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "taskiq", "worker", "bench.listqueue_app:broker",
         "--workers", "1", "--max-async-tasks", str(concurrency), "--max-prefetch", "0"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


async def enqueue(queue: str, path: Path, count: int) -> None:
    os.environ["BENCH_QUEUE"] = queue
    from bench.listqueue_app import broker, record

    await broker.startup()
    for n in range(count):
        await record.kiq(path=str(path), key=f"t{n}", hold_ms=40)
    await broker.shutdown()


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    queue = f"bench-listqueue-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "BENCH_QUEUE": queue, "BENCH_REDIS_URL": REDIS_URL}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "done.db"
        asyncio.run(enqueue(queue, path, args.tasks))
        with open(Path(tmp) / "worker.log", "ab") as log:
            worker = start_worker(env, args.concurrency, log)
            wait(lambda: done_count(path) >= 20, 60)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            at_kill = done_count(path)
            worker = start_worker(env, args.concurrency, log)
            last, quiet_since = -1, time.monotonic()
            while time.monotonic() - quiet_since < 5:  # until 5 s without progress
                now = done_count(path)
                if now != last:
                    last, quiet_since = now, time.monotonic()
                time.sleep(0.1)
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        finished = done_count(path)

    async def clean() -> None:
        async with Redis.from_url(REDIS_URL) as redis:
            await redis.delete(queue)

    asyncio.run(clean())
    result = {
        "broker": "taskiq_redis.ListQueueBroker",
        "tasks": args.tasks,
        "concurrency": args.concurrency,
        "done_at_kill": at_kill,
        "finished": finished,
        "lost": args.tasks - finished,
        "measured_at": time.strftime("%Y-%m-%d"),
    }
    out = ROOT / "bench" / "results" / "listqueue_loss.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
