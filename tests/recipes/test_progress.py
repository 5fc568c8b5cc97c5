"""recipes/progress on every broker, and the mistakes readers make with progress."""

from __future__ import annotations

import asyncio
import re
import signal

import pytest
from taskiq import AsyncTaskiqTask
from taskiq.depends.progress_tracker import TaskProgress, TaskState
from taskiq.result_backends.dummy import DummyResultBackend

from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe
from tests.support.waiting import async_wait_for

pytestmark = pytest.mark.broker
TASKS = "recipes.progress.tasks"


def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    output = run_recipe("progress", broker_env)
    counts = [int(n) for n in re.findall(r"STARTED: (\d+)/1000 rows", output)]
    assert len(counts) >= 3, output  # the reader saw it move while it ran
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    assert "result: {'imported': 1000}" in output
    assert "after the result, the last progress is still stored: {'done': 1000" in output


async def test_the_reader_sees_queued_then_counts_then_done(broker_env, start_worker, monkeypatch):
    """``how_far`` from another process than the worker's, as a status route would call it."""
    import recipes.progress.tasks as recipe

    async with producer(broker_env) as broker:
        monkeypatch.setattr(recipe, "email_broker", broker)  # the broker under test
        task = await kick(broker, "progress.import_rows", total=300, seconds_per_chunk=0.4)
        before = await recipe.how_far(task.task_id)  # no worker yet: nothing reported
        start_worker(broker_env, extra=[TASKS])

        async def counting() -> str | None:
            now = await recipe.how_far(task.task_id)
            return now if now.startswith("STARTED") else None

        first = await async_wait_for(counting, timeout=20, what="a first progress")
        await task.wait_result(timeout=20)
        after = await recipe.how_far(task.task_id)
    assert before == "queued (no progress yet)"
    assert re.fullmatch(r"STARTED: [12]00/300 rows", first), first
    assert after == "done"


async def test_progress_is_overwritten_not_appended(broker_env, start_worker):
    """A reader that looks once after ten reports sees only the tenth."""
    start_worker(broker_env, extra=[TASKS])
    async with producer(broker_env) as broker:
        task = await kick(broker, "progress.import_rows", total=1000, seconds_per_chunk=0)
        await task.wait_result(timeout=20)
        progress = await AsyncTaskiqTask(task.task_id, broker.result_backend).get_progress()
    assert progress.meta == {"done": 1000, "total": 1000}  # no history: the last one only


async def test_progress_is_not_a_heartbeat(broker_env, start_worker):
    """The worker dies mid-task: the progress still reads as it was, and nothing says so."""
    worker = start_worker(broker_env, extra=[TASKS])
    async with producer(broker_env) as broker:
        task = await kick(broker, "progress.import_rows", total=500, seconds_per_chunk=0.3)
        backend = broker.result_backend
        await async_wait_for(lambda: backend.get_progress(task.task_id), timeout=20,
                             what="a first progress")  # fmt: skip
        worker.signal_group(signal.SIGKILL)  # the machine goes away mid-import
        worker.wait_exit(timeout=10)
        at_death = await backend.get_progress(task.task_id)
        await asyncio.sleep(1.0)  # three chunks' time: a live task would have moved on
        later = await backend.get_progress(task.task_id)
        finished = await task.is_ready()
    assert at_death.meta["done"] < 500 and not finished
    assert (later.state, later.meta) == ("STARTED", at_death.meta)  # frozen, still "started"


async def test_a_backend_that_does_not_keep_progress_drops_it_silently():
    """What taskiq-aio-pika gives without a result backend (taskiq's DummyResultBackend), and
    what our SQLite and database backends did before they kept progress: no error, no
    progress."""
    backend = DummyResultBackend()
    await backend.set_progress("t", TaskProgress(state=TaskState.STARTED, meta={"done": 1}))
    assert await backend.get_progress("t") is None
