"""Extras: schedules kept in the app's database, and one run per tick however many schedulers run.

Stock taskiq: every running ``taskiq scheduler`` sends every due schedule, so two schedulers
(a deploy that overlaps, a second host for safety) send each tick twice; and taskiq ships no
schedule source on a SQL database (taskiq-redis has one on Redis).

``DatabaseScheduleSource`` keeps runtime schedules in the ``taskiq_schedules`` table of the
app's database, so they survive a restart of the scheduler and of the broker's server.

``OneRunPerTickScheduler`` claims each tick in the ``taskiq_schedule_ticks`` table before it
sends (the table's primary key lets one insert win): the first scheduler to claim a tick
sends it, the others skip it. Unlike a single leader holding a lease, no tick is missed while
a dead leader's lease runs out: the survivor claims the very next tick.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, String, Table, Text, delete, insert, select
from sqlalchemy.exc import IntegrityError
from taskiq import AsyncBroker, ScheduleSource, TaskiqScheduler
from taskiq.schedule_sources import LabelScheduleSource
from taskiq.scheduler.scheduled_task import ScheduledTask

from .database import metadata, open_tables

logger = logging.getLogger(__name__)

schedules_table = Table(
    "taskiq_schedules",
    metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("queue", String(200), nullable=False, index=True),  # the broker queue it sends to
    Column("task_name", String(200), nullable=False),
    Column("schedule", Text, nullable=False),  # the ScheduledTask, as JSON
    Column("created_at", DateTime(timezone=True), nullable=False),
)

ticks_table = Table(
    "taskiq_schedule_ticks",
    metadata,
    Column("queue", String(200), primary_key=True),
    Column("schedule_id", String(64), primary_key=True),
    Column("tick", String(40), primary_key=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False, index=True),
    Column("claimed_by", String(200), nullable=False),
)


class _Tables:
    """The extras' tables on ``url``, opened on first use and closed by ``close``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = None

    async def engine(self):
        if self._engine is None:
            self._engine, _writer = await open_tables(self.url)
        return self._engine

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


class DatabaseScheduleSource(ScheduleSource):
    """Runtime schedules (``add_schedule``/``delete_schedule``) in the app's database.

    Each source sees the schedules of its own ``queue`` only: two apps (or an app and a
    recipe) sharing one database never send each other's schedules to their own queue.
    """

    def __init__(self, url: str, queue: str = "taskiq") -> None:
        self._tables = _Tables(url)
        self.queue = queue

    async def shutdown(self) -> None:
        await self._tables.close()

    async def get_schedules(self) -> list[ScheduledTask]:
        engine = await self._tables.engine()
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(schedules_table.c.schedule_id, schedules_table.c.schedule).where(
                    schedules_table.c.queue == self.queue
                )
            )
            found = []
            for schedule_id, body in rows:
                try:
                    found.append(ScheduledTask.model_validate_json(body))
                except ValueError as exc:  # one bad row must not stop every other schedule
                    logger.error("schedule %s is unreadable and is skipped: %s", schedule_id, exc)
        return found

    all_schedules = get_schedules  # every schedule, for listing (the API's GET /schedules)

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        engine = await self._tables.engine()
        async with engine.begin() as connection:
            await connection.execute(
                insert(schedules_table).values(
                    schedule_id=schedule.schedule_id,
                    queue=self.queue,
                    task_name=schedule.task_name,
                    schedule=schedule.model_dump_json(),
                    created_at=datetime.now(UTC),
                )
            )

    async def delete_schedule(self, schedule_id: str) -> None:
        engine = await self._tables.engine()
        async with engine.begin() as connection:
            await connection.execute(
                delete(schedules_table).where(
                    schedules_table.c.schedule_id == schedule_id,
                    schedules_table.c.queue == self.queue,
                )
            )

    async def post_send(self, task: ScheduledTask) -> None:
        if task.time is not None:  # a one-off schedule is done once it is sent
            await self.delete_schedule(task.schedule_id)


def tick_of(task: ScheduledTask, now: datetime) -> str:
    """The tick a due schedule belongs to: the same string in every scheduler process."""
    if task.cron is not None:
        return now.astimezone(UTC).strftime("c%Y-%m-%dT%H:%M")  # cron fires once a minute
    if task.interval is not None:
        seconds = (
            task.interval.total_seconds()
            if isinstance(task.interval, timedelta)
            else float(task.interval)
        )
        return f"i{int(now.timestamp() // seconds)}"
    return "once"  # a `time` schedule


def schedule_key(source: ScheduleSource, task: ScheduledTask) -> str:
    """What two schedulers agree a schedule is. A label without ``schedule_id`` gets a new
    random id in every scheduler process, so a label's schedule is known by its content."""
    if not isinstance(source, LabelScheduleSource):
        return task.schedule_id
    spec = task.model_dump_json(include={"task_name", "args", "kwargs", "cron", "cron_offset",
                                         "time", "interval"})  # fmt: skip
    return "label:" + hashlib.sha256(spec.encode()).hexdigest()[:32]


class OneRunPerTickScheduler(TaskiqScheduler):
    """A ``TaskiqScheduler`` that sends a tick only if it is the first to claim it."""

    def __init__(
        self,
        broker: AsyncBroker,
        sources: list[ScheduleSource],
        database_url: str,
        *,
        queue: str = "taskiq",
        keep_ticks: timedelta = timedelta(days=1),
    ) -> None:
        super().__init__(broker, sources)
        self.queue = queue  # schedulers of other queues claim their ticks apart
        self._tables = _Tables(database_url)
        self._keep_ticks = keep_ticks
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    async def startup(self) -> None:
        await super().startup()
        await self._tables.engine()  # a database that is down stops the scheduler at start
        # Stock `taskiq scheduler` has no SIGTERM handler: the signal kills it mid-send, its
        # shutdown never runs. Here SIGTERM cancels the main task, as Ctrl-C does: a send in
        # flight frees its tick, and taskiq's own shutdown path runs (exit code 0).
        main = asyncio.current_task()
        if main is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)

    async def shutdown(self) -> None:
        await super().shutdown()
        await self._tables.close()

    async def claim(self, schedule_id: str, tick: str) -> bool:
        now = datetime.now(UTC)
        engine = await self._tables.engine()
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    insert(ticks_table).values(
                        queue=self.queue,
                        schedule_id=schedule_id,
                        tick=tick,
                        claimed_at=now,
                        claimed_by=self.name,
                    )
                )
                await connection.execute(  # old claims of this schedule are of no more use
                    delete(ticks_table).where(
                        ticks_table.c.queue == self.queue,
                        ticks_table.c.schedule_id == schedule_id,
                        ticks_table.c.claimed_at < now - self._keep_ticks,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def release(self, schedule_id: str, tick: str) -> None:
        engine = await self._tables.engine()
        async with engine.begin() as connection:
            await connection.execute(
                delete(ticks_table).where(
                    ticks_table.c.queue == self.queue,
                    ticks_table.c.schedule_id == schedule_id,
                    ticks_table.c.tick == tick,
                )
            )

    async def on_ready(self, source: ScheduleSource, task: ScheduledTask) -> None:
        tick = tick_of(task, datetime.now(UTC))
        key = schedule_key(source, task)
        if not await self.claim(key, tick):
            logger.info("%s %s: sent by another scheduler", key, tick)
            return
        try:
            await super().on_ready(source, task)
        except BaseException:
            # Not sent (the broker is down?): the tick is free again for whoever tries next.
            await self.release(key, tick)
            raise
