"""Tasks the tests use to observe workers: who ran what, when, for how long.

Passed to the worker as an extra module (``run_worker tests.support.probe_tasks``). Each run
is written to a SQLite file named by the caller, so a test can count runs and overlaps.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqDepends

from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq.deps import get_db_session
from reference_app.modules.reports.models import Report


def _write(path: str, sql: str, args: tuple) -> None:
    with sqlite3.connect(path, timeout=30) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS runs (key TEXT, pid INTEGER, started REAL, finished REAL)"
        )
        db.execute(sql, args)


@email_broker.task(task_name="probe.record_run")
async def record_run(path: str, key: str, hold_ms: int = 0) -> int:
    pid = os.getpid()
    started = time.time()
    await asyncio.to_thread(
        _write, path, "INSERT INTO runs VALUES (?, ?, ?, NULL)", (key, pid, started)
    )
    if hold_ms:
        await asyncio.sleep(hold_ms / 1000)
    await asyncio.to_thread(
        _write,
        path,
        "UPDATE runs SET finished = ? WHERE key = ? AND pid = ? AND started = ?",
        (time.time(), key, pid, started),
    )
    return pid


def read_runs(path: str) -> list[tuple[str, int, float, float | None]]:
    try:
        with sqlite3.connect(path, timeout=30) as db:
            return db.execute("SELECT key, pid, started, finished FROM runs").fetchall()
    except sqlite3.OperationalError:
        return []


# --8<-- [start:app_title]
@email_broker.task(task_name="probe.app_title")
async def app_title(request: Request = TaskiqDepends()) -> dict[str, object]:
    """Uses a FastAPI dependency inside a worker: taskiq-fastapi provides the app's Request."""
    state = request.app.state
    return {"title": request.app.title, "has_sessionmaker": hasattr(state, "sessionmaker")}


# --8<-- [end:app_title]


@email_broker.task(task_name="probe.fail")
async def fail(reason: str) -> None:
    raise ValueError(f"boom: {reason}")


@email_broker.task(task_name="probe.flaky", retry_on_error=True, max_retries=4)
async def flaky(path: str, key: str, fail_times: int) -> int:
    """Fails its first ``fail_times`` runs (counted in a SQLite file), then succeeds."""

    def attempt() -> int:
        with sqlite3.connect(path, timeout=30) as db:
            db.execute("CREATE TABLE IF NOT EXISTS attempts (key TEXT, at REAL)")
            db.execute("INSERT INTO attempts VALUES (?, ?)", (key, time.time()))
            return db.execute("SELECT count(*) FROM attempts WHERE key = ?", (key,)).fetchone()[0]

    count = await asyncio.to_thread(attempt)
    if count <= fail_times:
        raise ConnectionError(f"attempt {count} of {key} failed")
    return count


@email_broker.task(task_name="probe.block_loop")
async def block_loop(path: str, key: str, seconds: float) -> None:
    """A mistake on purpose: blocking the event loop (time.sleep in async code) freezes
    everything else in the worker process, including its lease renewals."""
    _write(path, "INSERT INTO runs VALUES (?, ?, ?, NULL)", (key, os.getpid(), time.time()))
    time.sleep(seconds)  # noqa: ASYNC251 - the point of this task


@email_broker.task(task_name="probe.commit_fails")
async def commit_fails(db: AsyncSession = TaskiqDepends(get_db_session)) -> str:
    """Returns fine, but its session's commit (after the return) breaks a NOT NULL rule."""
    db.add(Report(title=None, values=[], status="queued"))
    return "the function itself succeeded"


class Invoice(BaseModel):
    number: str
    lines: list[float] = Field(min_length=1)


@email_broker.task(task_name="probe.total_invoice")
async def total_invoice(invoice: Invoice) -> float:
    """A pydantic model as a parameter: the worker validates what arrives before the run."""
    return sum(invoice.lines)


@email_broker.task(task_name="probe.database_backend")
async def database_backend(db: AsyncSession = TaskiqDepends(get_db_session)) -> int:
    """The server process that served this task's connection (PostgreSQL's pg_backend_pid)."""
    return (await db.execute(text("SELECT pg_backend_pid()"))).scalar_one()
