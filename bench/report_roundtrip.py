"""The report round trip on the app's two databases (``make bench-db``): SQLite and PostgreSQL.

The reference app under uvicorn and its workers (2 processes of 8 slots) on the embedded
SQLite broker; ``bench.loadgen`` posts N reports, 8 in flight; each report's round trip is
read from its own row (``completed_at - created_at``: queued, taken, processed, marked
complete). Reports per second are N over the first creation to the last completion. The same
on a SQLite file and on a migrated PostgreSQL database (127.0.0.1:5432, user postgres).
Results go to bench/results/roundtrip-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import (
    PY,
    RESULTS,
    ROOT,
    Case,
    Workers,
    case_env,
    machine,
    run_json,
    versions,
    wait_until_serving,
)
from bench.pool import PG, admin

WORKERS, CONCURRENCY = 2, 8


async def rows(url: str) -> list[tuple[float, float | None, str]]:
    from sqlalchemy import select

    from reference_app.infrastructure.database import create_engine_from_settings
    from reference_app.modules.reports.models import Report

    engine = create_engine_from_settings(url)
    async with engine.connect() as connection:
        found = await connection.execute(
            select(Report.created_at, Report.completed_at, Report.status))  # fmt: skip
        result = [(c.timestamp(), d.timestamp() if d else None, s) for c, d, s in found]
    await engine.dispose()
    return result


def measure(database: str, count: int, work: Path, pool_size: int = 0) -> dict:
    from reference_app.migrate import upgrade

    queue = f"bench-db-{database}-{uuid.uuid4().hex[:8]}"
    tmp = work / queue
    env = case_env(Case(f"db-{database}", "ours", "sqlite", ""), queue, tmp)
    env |= {"TASKIQ_WORKER_PROCESSES": str(WORKERS), "TASKIQ_WORKER_CONCURRENCY": str(CONCURRENCY),
            "TASKIQ_RUNS_ENABLED": "false", "DATABASE_TASK_POOL_SIZE": str(pool_size)}  # fmt: skip
    name = f"bench_db_{uuid.uuid4().hex[:8]}"
    if database == "postgresql":
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        env["DATABASE_URL"] = f"{PG}/{name}"
    url = env["DATABASE_URL"]
    upgrade(url)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    processes = Workers(
        [[PY, "-m", "uvicorn", "--factory", "reference_app.main:create_app", "--host",
          "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
         [PY, "-m", "reference_app.infrastructure.taskiq.run_worker"]],
        env, tmp / "processes.log")  # fmt: skip
    try:
        wait_until_serving(base_url, processes, tmp / "processes.log")
        command = [PY, "-m", "bench.loadgen", base_url, "/reports", "--count", str(count),
                   "--time-limit", "120", "--concurrency", "8"]  # fmt: skip
        posted = run_json(command, env, timeout=180)
        deadline = time.monotonic() + 180
        while True:
            found = asyncio.run(rows(url))
            done = [s for _, _, s in found if s in ("complete", "failed")]
            if len(done) == len(found) >= posted["requests"]:  # the warm-up's too
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{database}: only some reports completed")
            time.sleep(0.2)
    finally:
        processes.stop()
        if database == "postgresql":
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    trips = sorted((end - made) * 1000 for made, end, _ in found)
    span = max(end for _, end, _ in found) - min(made for made, _, _ in found)
    return {"database": database, "pool_size": pool_size, "reports": len(found),
            "post_errors": posted["errors"],
            "reports_per_s": round(len(found) / span, 1),
            "p50_ms": round(statistics.median(trips), 1),
            "p99_ms": round(trips[int(len(trips) * 0.99) - 1], 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    rows_out = []
    with tempfile.TemporaryDirectory() as work:
        for database, pool in (("sqlite", 0), ("postgresql", 0), ("postgresql", 2)):
            row = measure(database, args.count, Path(work), pool)
            rows_out.append(row)
            print(f"{database:>11} (task pool {pool}): {row['reports_per_s']:>7} reports/s, "
                  f"round trip p50 "
                  f"{row['p50_ms']} ms, p99 {row['p99_ms']} ms", flush=True)  # fmt: skip
    out = RESULTS / f"roundtrip-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    summary = {"rows": rows_out, "workers": WORKERS, "concurrency": CONCURRENCY,
               "machine": machine(), "versions": versions()}  # fmt: skip
    out.write_text(json.dumps(summary, indent=1))
    print(f"bench.report_roundtrip: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
