"""A task with a schedule label, for the scheduler tests: every second, it records its run.

Passed to the scheduler and the worker as an extra module. The label exists only when
PROBE_RUNS_PATH names the SQLite file the runs go to (so other tests' workers schedule nothing).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time

from reference_app.infrastructure.taskiq import email_broker

RUNS_PATH = os.environ.get("PROBE_RUNS_PATH", "")
# No schedule_id: taskiq makes up a random one in each scheduler process (the common case).
EVERY_SECOND = [{"interval": 1, "kwargs": {"path": RUNS_PATH}}]


def _record(path: str) -> None:
    with sqlite3.connect(path, timeout=30) as db:
        db.execute("CREATE TABLE IF NOT EXISTS ticks (ran_at REAL, pid INTEGER)")
        db.execute("INSERT INTO ticks VALUES (?, ?)", (time.time(), os.getpid()))


@email_broker.task(task_name="probe.tick", schedule=EVERY_SECOND if RUNS_PATH else [])
async def tick(path: str) -> None:
    await asyncio.to_thread(_record, path)


def read_ticks(path: str) -> list[float]:
    try:
        with sqlite3.connect(path, timeout=30) as db:
            return [row[0] for row in db.execute("SELECT ran_at FROM ticks ORDER BY ran_at")]
    except sqlite3.OperationalError:
        return []
