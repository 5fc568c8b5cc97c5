"""The run recorder on its own: events in any order, batched writes, bounded storage."""

from __future__ import annotations

import random
import sqlite3
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine
from taskiq import TaskiqMessage, TaskiqResult

from taskiq_extras.runs import TaskRunRecorder, task_runs
from taskiq_extras.sqlite_writer import SQLiteWriter


def message(task_id: str, **labels) -> TaskiqMessage:
    return TaskiqMessage(task_id=task_id, task_name="demo", labels=labels, args=[], kwargs={})


def result(error: BaseException | None = None) -> TaskiqResult:
    return TaskiqResult(is_err=error is not None, return_value=None, execution_time=0.25,
                        error=error)  # fmt: skip


async def recorder(url: str, **kwargs) -> TaskRunRecorder:
    r = TaskRunRecorder(url, broker_name="sqlite", flush_interval=3600, **kwargs)
    await r.startup()
    return r


async def rows(r: TaskRunRecorder):
    async with r._engine.connect() as connection:
        return {row.task_id: row for row in await connection.execute(select(task_runs))}


async def test_a_late_queued_event_does_not_undo_a_finished_run(new_database):
    url = new_database()  # on SQLite and on PostgreSQL: the upserts differ
    worker = await recorder(url)
    web = await recorder(url)
    try:
        worker.pre_execute(message("t1"))
        worker.post_execute(message("t1"), result())
        await worker.flush()
        web.post_send(message("t1", timeout=30, secret_label="x"))  # flushed later
        await web.flush()
        (row,) = (await rows(web)).values()
        assert row.status == "succeeded" and row.duration_ms == 250
        assert row.queued_at is not None and row.starts == 1
        assert row.labels == {"timeout": 30}  # only the labels worth showing
    finally:
        await worker.shutdown()
        await web.shutdown()


async def test_events_wait_in_memory_until_a_flush(tmp_path):
    r = await recorder(f"sqlite+aiosqlite:///{tmp_path / 'runs.db'}")
    try:
        for n in range(100):
            r.post_send(message(f"t{n}"))
        assert await rows(r) == {}  # the hooks themselves never touched the database
        await r.flush()
        assert len(await rows(r)) == 100
    finally:
        await r.shutdown()


async def test_storage_stays_bounded_by_count_and_age(new_database):
    r = await recorder(new_database(), max_rows=150, max_age_seconds=3600)
    try:
        for n in range(1000):
            r.post_send(message(f"t{n}"))
        await r.flush()
        async with r._engine.begin() as connection:
            old = time.time() - 7200
            await connection.execute(
                task_runs.update().where(task_runs.c.task_id.in_(["t998", "t999"]))
                .values(updated_at=old)
            )  # fmt: skip
            await r.prune(connection)
            count = (await connection.execute(select(func.count()).select_from(task_runs))).scalar()
        assert count <= 150
        assert {"t998", "t999"}.isdisjoint(await rows(r))  # too old, though among the newest
    finally:
        await r.shutdown()


@pytest.mark.parametrize("through", ["SQLiteWriter", "SQLAlchemy"])
async def test_a_failed_write_keeps_the_events_for_the_next_flush(tmp_path, through):
    """A SQLite file's flushes go through SQLiteWriter, PostgreSQL's through SQLAlchemy."""
    r = await recorder(f"sqlite+aiosqlite:///{tmp_path / 'runs.db'}")
    try:
        if through == "SQLAlchemy":
            r._sqlite = None
        r.post_send(message("kept"))
        writer, engine = r._sqlite, r._engine
        # The database goes away: a file that cannot be opened.
        gone = "/proc/no-such-dir/runs.db"
        if writer is not None:
            r._sqlite = SQLiteWriter(gone)
        else:
            r._engine = create_async_engine(f"sqlite+aiosqlite:///{gone}")
        with pytest.raises((sqlite3.OperationalError, OperationalError), match="unable to open"):
            await r.flush()
        if r._engine is not engine:
            await r._engine.dispose()
        r._sqlite, r._engine = writer, engine  # and it comes back
        await r.flush()
        assert "kept" in await rows(r)
    finally:
        await r.shutdown()


async def test_events_of_one_task_in_one_flush_become_one_row_as_if_written_one_by_one(
    new_database,
):
    """A flush writes one row per task (merged in Python); the table must end exactly as if
    each event had been upserted on its own, whatever the events and their order."""
    rng = random.Random(8)
    merged, one_by_one = await recorder(new_database()), await recorder(new_database())
    try:
        for n in range(60):
            task = message(f"t{n}", timeout=5, retry_on_error=True, max_retries=3)
            steps = [
                lambda t=task: merged.post_send(t),
                lambda t=task: merged.pre_execute(t),
                lambda t=task: merged.post_execute(t, result()),
                lambda t=task: merged.post_execute(t, result(ValueError("boom"))),
                lambda n=n: merged.pre_execute(message(f"t{n}", _retries=1)),
            ]
            for step in rng.choices(steps, k=rng.randint(1, 5)):
                step()
        events = list(merged._events)
        assert len(events) > 100
        written = merged._coalesce(events)
        assert len(written) == 60  # one row per task goes to the database
        await merged.flush()
        for event in events:  # the same events, each upserted on its own
            one_by_one._events = [event]
            await one_by_one.flush()
        got, want = await rows(merged), await rows(one_by_one)
        assert got.keys() == want.keys()
        columns = [column.name for column in task_runs.columns]
        for task_id, row in want.items():
            assert {c: getattr(got[task_id], c) for c in columns} == {
                c: getattr(row, c) for c in columns
            }, task_id
    finally:
        await merged.shutdown()
        await one_by_one.shutdown()
