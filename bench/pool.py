"""NullPool against a pool per worker process, on PostgreSQL (``make bench-pool``).

For each setting of DATABASE_TASK_POOL_SIZE: a migrated database of its own, WORKERS worker
processes of CONCURRENCY slots on the embedded SQLite broker, N tasks that each run one query
through the task session. It records tasks per second (queued to all results stored) and the
most connections the server saw from the workers, sampled every 50 ms. Results go to
bench/results/pool-<time>.json. Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import RESULTS, ROOT, Workers, machine, versions

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
WORKERS, CONCURRENCY = 2, 8


async def admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def connections(name: str) -> int:
    import asyncpg

    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
            "AND backend_type = 'client backend'", name)  # fmt: skip
    finally:
        await connection.close()


def stored(path: Path) -> int:
    with sqlite3.connect(path, timeout=30) as db:
        return db.execute("SELECT count(*) FROM taskiq_results").fetchone()[0]


async def measure(pool_size: int, tasks: int, tmp: Path) -> dict:
    name = f"bench_pool_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": f"{PG}/{name}", "DEV_MODE": "true",
           "TASKIQ_BROKER_TYPE": "sqlite", "TASKIQ_SQLITE_PATH": str(tmp / f"{name}.db"),
           "TASKIQ_QUEUE_NAME": name, "TASKIQ_WORKER_PROCESSES": str(WORKERS),
           "TASKIQ_WORKER_CONCURRENCY": str(CONCURRENCY), "TASKIQ_RUNS_ENABLED": "false",
           "TASKIQ_MAX_TASKS_PER_WORKER": "0",
           "DATABASE_TASK_POOL_SIZE": str(pool_size)}  # fmt: skip
    os.environ.update({k: v for k, v in env.items() if k.startswith(("TASKIQ_", "DATABASE_"))})
    from reference_app.migrate import upgrade

    await asyncio.to_thread(upgrade, env["DATABASE_URL"])
    command = [sys.executable, "-m", "reference_app.infrastructure.taskiq.run_worker",
               "bench.pool_tasks"]  # fmt: skip
    workers = Workers([command], env, tmp / f"{name}.log")
    try:
        from bench.pool_tasks import pool_query
        from reference_app.infrastructure.taskiq import email_broker

        await email_broker.startup()
        warm = [await pool_query.kiq() for _ in range(WORKERS * CONCURRENCY)]
        for task in warm:  # the workers are up and every slot has run once
            await task.wait_result(timeout=120)
        peak = 0

        async def sample() -> None:  # the most connections the server sees, every 50 ms
            nonlocal peak
            while True:
                peak = max(peak, await connections(name))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        sent = [await pool_query.kiq() for _ in range(tasks)]
        wanted = len(warm) + tasks
        while stored(tmp / f"{name}.db") < wanted:  # noqa: ASYNC110 - a file another process writes
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        sampler.cancel()
        errors = [r for t in sent if (r := await t.get_result()).is_err]
        await email_broker.shutdown()
    finally:
        workers.stop()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {"pool_size": pool_size, "tasks": tasks, "seconds": round(elapsed, 3),
            "tasks_per_s": round(tasks / elapsed, 1), "peak_connections": peak,
            "errors": len(errors)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--pool-size", type=int, action="append", default=None)
    args = parser.parse_args()
    sizes = args.pool_size or [0, CONCURRENCY]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:  # one process per setting: the settings are read once
            code = (f"import asyncio, json, pathlib; from bench.pool import measure; "
                    f"print(json.dumps(asyncio.run(measure({size}, {args.tasks}, "
                    f"pathlib.Path({tmp!r})))))")  # fmt: skip
            done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                  text=True, timeout=600)  # fmt: skip
            if done.returncode != 0:
                sys.exit(f"bench.pool: pool size {size} failed:\n{done.stderr[-3000:]}")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            label = "NullPool" if size == 0 else f"pool of {size}"
            print(f"{label:>12}: {row['tasks_per_s']:>8} tasks/s, peak {row['peak_connections']} "
                  f"connections, {row['errors']} errors", flush=True)  # fmt: skip
    out = RESULTS / f"pool-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    summary = {"workers": WORKERS, "concurrency": CONCURRENCY, "rows": rows,
               "machine": machine(), "versions": versions()}  # fmt: skip
    out.write_text(json.dumps(summary, indent=1))
    print(f"bench.pool: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
