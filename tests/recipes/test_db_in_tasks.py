"""recipes/db_in_tasks on every broker: commit on return, rollback on raise, ids not rows."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recipes.db_in_tasks.models import Note
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from taskiq_extras.middlewares import TaskArgumentError
from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe

pytestmark = pytest.mark.broker
TASKS = "recipes.db_in_tasks.tasks"


def notes(env) -> list[tuple[int, str, str, int | None]]:
    with sqlite3.connect(env.database_path) as db:
        return db.execute(
            "SELECT id, text, status, word_count FROM db_in_tasks_notes ORDER BY id"
        ).fetchall()


async def add_notes(env, *texts: str) -> list[int]:
    engine = create_engine_from_settings(env.settings().DATABASE_URL)
    await create_tables(engine)
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        rows = [Note(text=text) for text in texts]
        db.add_all(rows)
        await db.commit()
        ids = [row.id for row in rows]
    await engine.dispose()
    return ids


def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    output = run_recipe("db_in_tasks", broker_env)
    assert "refused: task 'db_in_tasks.count_words': argument 'note_id'" in output
    assert notes(broker_env) == [(1, "tasks get their own database session", "counted", 6)]


@pytest.mark.parametrize("broker_env", ["redis"], indirect=True)
def test_the_recipe_runs_on_postgresql(broker_env, postgres_url):
    """Workers on other machines share a database server: the same recipe on PostgreSQL."""
    output = run_recipe("db_in_tasks", broker_env, DATABASE_URL=postgres_url)
    assert "refused: task 'db_in_tasks.count_words': argument 'note_id'" in output
    assert "the worker's task engine uses NullPool" in output


async def test_a_task_that_returns_commits_and_one_that_raises_rolls_back(broker_env, start_worker):
    first, second = await add_notes(broker_env, "one two three", "four five")
    start_worker(broker_env, extra=[TASKS])
    async with producer(broker_env) as broker:
        counted = await (await kick(broker, "db_in_tasks.count_words", note_id=first)).wait_result(
            timeout=20
        )
        failed = await (
            await kick(broker, "db_in_tasks.archive_then_fail", note_id=second)
        ).wait_result(timeout=20)
        missing = await (await kick(broker, "db_in_tasks.count_words", note_id=999)).wait_result(
            timeout=20
        )
    assert counted.return_value == 3
    assert failed.is_err and "failed half-way" in str(failed.error)
    assert missing.is_err and "note 999 does not exist" in str(missing.error)
    assert notes(broker_env) == [
        (first, "one two three", "counted", 3),  # committed
        (second, "four five", "new", None),  # the flushed 'archived' was rolled back
    ]


async def test_the_workers_task_engine_uses_a_null_pool(broker_env, start_worker):
    start_worker(broker_env, extra=[TASKS])
    async with producer(broker_env) as broker:
        result = await (await kick(broker, "db_in_tasks.pool_kind")).wait_result(timeout=20)
    assert result.return_value == "NullPool"


async def test_passing_the_session_or_the_row_is_refused_at_kiq_time(broker_env):
    (note_id,) = await add_notes(broker_env, "a row")
    engine = create_engine_from_settings(broker_env.settings().DATABASE_URL)
    async with producer(broker_env) as broker, AsyncSession(engine) as db:
        with pytest.raises(TaskArgumentError, match=r"pass the row's id .*get_db_session"):
            await kick(broker, "db_in_tasks.count_words", note_id=note_id, db=db)
        note = await db.get(Note, note_id)
        with pytest.raises(TaskArgumentError, match=r"a SQLAlchemy Note cannot leave .*row's id"):
            await kick(broker, "db_in_tasks.count_words", note_id=note)
    await engine.dispose()
    assert notes(broker_env) == [(note_id, "a row", "new", None)]
