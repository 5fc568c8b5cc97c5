"""The database result backend (results and progress with RabbitMQ) on SQLite and PostgreSQL:
what one process writes another reads at once, and writes that meet in one group commit."""

from __future__ import annotations

import asyncio

from taskiq import TaskiqResult
from taskiq.depends.progress_tracker import TaskProgress, TaskState

from taskiq_extras.result_backend import DatabaseResultBackend


def done(value: int) -> TaskiqResult:
    return TaskiqResult(is_err=False, return_value=value, execution_time=0.1)


async def test_results_and_progress_round_trip_and_collapse_in_one_commit(new_database):
    url = new_database()
    writer, reader = DatabaseResultBackend(url), DatabaseResultBackend(url)
    await writer.startup()
    await reader.startup()
    try:
        # Two progress updates and a result of one task, and results of others, submitted
        # together: one group commit, where PostgreSQL refuses to upsert a row twice.
        await asyncio.gather(
            writer.set_progress("a", TaskProgress(state=TaskState.STARTED, meta={"p": 1})),
            writer.set_progress("a", TaskProgress(state=TaskState.STARTED, meta={"p": 2})),
            *(writer.set_result(f"t{n}", done(n)) for n in range(50)),
        )
        await writer.set_result("a", done(7))
        await writer.set_result("a", done(8))  # delivered twice: the last result stands
        assert (await reader.get_result("a")).return_value == 8
        assert (await reader.get_progress("a")).meta in ({"p": 1}, {"p": 2})
        values = [(await reader.get_result(f"t{n}")).return_value for n in range(50)]
        assert values == list(range(50))
        assert await reader.get_progress("never-set") is None
    finally:
        await reader.shutdown()
        await writer.shutdown()
