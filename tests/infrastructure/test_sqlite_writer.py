"""SQLiteWriter: writes on the event loop, waits for another process's lock without blocking."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from taskiq import TaskiqResult

from taskiq_extras.result_backend import (
    DatabaseResultBackend,
    ResultNotFoundError,
)
from taskiq_extras.sqlite_writer import SQLiteWriter


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (n INTEGER)")
    return path


def insert(db: sqlite3.Connection, n: int) -> int:
    db.execute("INSERT INTO t (n) VALUES (?)", (n,))
    return n


def rows(path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [n for (n,) in db.execute("SELECT n FROM t ORDER BY n")]


async def test_it_waits_for_another_process_lock_while_the_loop_runs_on(database):
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another worker holds the write lock...
    release = threading.Timer(0.3, other.rollback)  # ...for 0.3 s
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    writer = SQLiteWriter(database)
    running = asyncio.create_task(ticker())
    release.start()
    try:
        assert await writer.run(insert, 1) == 1
    finally:
        running.cancel()
        release.join()
        writer.close()
        other.close()
    assert rows(database) == [1]
    assert ticks >= 10  # the loop was free while the writer waited (0.3 s / 10 ms)


async def test_a_failed_write_leaves_nothing_and_the_next_one_works(database):
    writer = SQLiteWriter(database)

    def half_then_fail(db: sqlite3.Connection) -> None:
        insert(db, 1)
        raise ValueError("broken halfway")

    with pytest.raises(ValueError, match="broken halfway"):
        await writer.run(half_then_fail)
    assert rows(database) == []
    await writer.run(insert, 2)
    assert rows(database) == [2]
    writer.close()


async def test_a_lock_held_too_long_is_a_clear_error(database):
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    writer = SQLiteWriter(database, lock_timeout=0.2)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await writer.run(insert, 1)
    other.rollback()
    await writer.run(insert, 3)  # the connection is still usable
    assert rows(database) == [3]
    writer.close()
    other.close()


async def test_the_database_result_backend_writes_a_sqlite_file_on_the_loop(tmp_path):
    backend = DatabaseResultBackend(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}", ttl_seconds=60)
    await backend.startup()
    try:
        assert backend._sqlite is not None  # not through SQLAlchemy's thread
        result = TaskiqResult(is_err=False, return_value={"sent": 3}, execution_time=0.01)
        await asyncio.gather(*(backend.set_result(f"id-{n}", result) for n in range(20)))
        assert (await backend.get_result("id-7")).return_value == {"sent": 3}
        with pytest.raises(ResultNotFoundError, match="not finished, or expired"):
            await backend.get_result("id-missing")
    finally:
        await backend.shutdown()
