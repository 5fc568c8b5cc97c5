"""The extras' database schedule source and tick claims, on a SQLite file (no processes)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from taskiq import InMemoryBroker
from taskiq.scheduler.scheduled_task import ScheduledTask

from taskiq_extras.scheduling import (
    DatabaseScheduleSource,
    OneRunPerTickScheduler,
    schedules_table,
    tick_of,
)


def every(seconds: int, name: str = "t") -> ScheduledTask:
    return ScheduledTask(task_name=name, labels={}, args=[], kwargs={"n": 1}, interval=seconds)


async def test_schedules_are_kept_listed_deleted_and_kept_apart_per_queue(new_database):
    url = new_database()
    app, other = DatabaseScheduleSource(url, "app"), DatabaseScheduleSource(url, "recipe")
    first, second = every(1), every(5)
    await app.add_schedule(first)
    await other.add_schedule(second)
    assert [s.schedule_id for s in await app.get_schedules()] == [first.schedule_id]
    assert [s.schedule_id for s in await other.all_schedules()] == [second.schedule_id]
    await other.delete_schedule(first.schedule_id)  # not its queue: nothing happens
    assert len(await app.get_schedules()) == 1
    await app.delete_schedule(first.schedule_id)
    assert await app.get_schedules() == []
    await app.shutdown()
    await other.shutdown()


async def test_a_one_off_is_deleted_once_sent_and_a_bad_row_does_not_hide_the_rest(tmp_path):
    source = DatabaseScheduleSource(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    once = ScheduledTask(task_name="t", labels={}, args=[], kwargs={},
                         time=datetime.now(UTC) + timedelta(minutes=1))  # fmt: skip
    broken, kept = every(1), every(2)
    for schedule in (once, broken, kept):
        await source.add_schedule(schedule)
    engine = await source._tables.engine()
    async with engine.begin() as connection:
        await connection.execute(update(schedules_table)
                                 .where(schedules_table.c.schedule_id == broken.schedule_id)
                                 .values(schedule="{not json"))  # fmt: skip
    await source.post_send(once)
    assert [s.schedule_id for s in await source.get_schedules()] == [kept.schedule_id]
    await source.shutdown()


async def test_of_two_schedulers_claiming_one_tick_exactly_one_wins(new_database):
    url = new_database()
    broker = InMemoryBroker()
    schedulers = [OneRunPerTickScheduler(broker, [], url) for _ in range(2)]
    for _ in range(20):  # 20 ticks, both racing for each one
        tick = f"i{_}"
        won = await asyncio.gather(*(s.claim("job", tick) for s in schedulers))
        assert sorted(won) == [False, True]
    await schedulers[0].release("job", "i0")  # a send that failed frees its tick
    assert await schedulers[1].claim("job", "i0")
    other_queue = OneRunPerTickScheduler(broker, [], url, queue="recipe")
    assert await other_queue.claim("job", "i0")  # another queue's ticks are its own
    for scheduler in [*schedulers, other_queue]:
        await scheduler._tables.close()


def test_the_same_tick_is_named_alike_in_every_process():
    at = datetime(2026, 12, 6, 9, 0, 0, 10_000, tzinfo=UTC)
    later = at + timedelta(milliseconds=900)
    cron = ScheduledTask(task_name="t", labels={}, args=[], kwargs={}, cron="* * * * *")
    assert tick_of(cron, at) == tick_of(cron, at + timedelta(seconds=50)) == "c2026-12-06T09:00"
    assert tick_of(every(1), at) == tick_of(every(1), later)
    assert tick_of(every(1), at) != tick_of(every(1), at + timedelta(seconds=1))
    assert tick_of(every(60), at) == tick_of(every(60), at + timedelta(seconds=59))
