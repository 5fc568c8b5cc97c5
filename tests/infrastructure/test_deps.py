"""``get_db_session``: a session per task, committed on success, rolled back on error."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import NullPool
from taskiq import InMemoryBroker, TaskiqDepends

from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.taskiq import deps
from reference_app.infrastructure.taskiq.deps import dispose_task_engine, get_db_session

broker = InMemoryBroker(await_inplace=True)
sessions: list[AsyncSession] = []  # the objects, not id()s: a freed object's id is reused


@broker.task(task_name="deps_test.write")
async def write_row(
    value: str, fail: bool = False, db: AsyncSession = TaskiqDepends(get_db_session)
) -> str:
    sessions.append(db)
    await db.execute(text("INSERT INTO notes (value) VALUES (:v)"), {"v": value})
    if fail:
        raise RuntimeError("the task failed after writing")
    return value


@pytest.fixture
async def database(tmp_path, monkeypatch):
    path = tmp_path / "tasks.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (value TEXT)")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    get_settings.cache_clear()
    await broker.startup()
    yield path
    await broker.shutdown()
    await dispose_task_engine()
    get_settings.cache_clear()


def rows(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [value for (value,) in db.execute("SELECT value FROM notes ORDER BY value")]


async def test_a_task_that_returns_is_committed_and_one_that_raises_is_rolled_back(database):
    ok = await (await write_row.kiq("kept")).wait_result(timeout=5)
    failed = await (await write_row.kiq("discarded", fail=True)).wait_result(timeout=5)

    assert ok.return_value == "kept" and not ok.is_err
    assert failed.is_err and "failed after writing" in str(failed.error)
    assert rows(database) == ["kept"]  # no half-written row from the failed task


async def test_each_task_gets_its_own_session_from_a_null_pool_engine(database):
    sessions.clear()
    for n in range(3):
        await (await write_row.kiq(f"v{n}")).wait_result(timeout=5)
    assert len({id(session) for session in sessions}) == 3
    assert isinstance(deps._engine.pool, NullPool)
    await dispose_task_engine()
    assert deps._engine is None  # disposed on worker shutdown, recreated on next use
