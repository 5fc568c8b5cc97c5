"""python -m recipes.scheduling: a scheduler process sends tasks at a time and on a cron line."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

# The scheduler reads new runtime schedules every TASKIQ_SCHEDULE_REFRESH_SECONDS (5 by
# default): once a second here, so the demo's two-second reminder is not seen late.
os.environ.setdefault("TASKIQ_SCHEDULE_REFRESH_SECONDS", "1")

from taskiq import AsyncTaskiqTask
from taskiq.schedule_sources import LabelScheduleSource
from taskiq.scheduler.scheduled_task import CronSpec

from recipes.scheduling.tasks import remind
from reference_app.infrastructure.taskiq import email_broker, run_scheduler, run_worker
from reference_app.infrastructure.taskiq.brokers import schedule_source
from taskiq_extras.processes import scheduler_process, worker_process
from taskiq_extras.task_ids import new_task_id

TASKS = "recipes.scheduling.tasks"


async def main() -> None:
    # --8<-- [start:labels]
    labels = LabelScheduleSource(email_broker)
    await labels.startup()  # reads the labels of every task imported so far
    for schedule in await labels.get_schedules():
        if schedule.task_name.startswith("scheduling."):
            print(f"label: {schedule.task_name} on {schedule.cron!r} ({schedule.cron_offset})")
    # --8<-- [end:labels]
    await email_broker.startup()  # the client side: lets this process schedule and read results
    try:
        with worker_process(run_worker, TASKS), scheduler_process(run_scheduler, TASKS):
            # A one-off already due is sent as soon as the scheduler is up: wait for that.
            first = (
                await remind.kicker()
                .with_task_id(new_task_id())
                .schedule_by_time(schedule_source, datetime.now(UTC), text="the scheduler is up")
            )
            started = AsyncTaskiqTask(first.task.task_id, email_broker.result_backend)
            print(f"ran: {(await started.wait_result(timeout=60)).return_value['text']!r}")
            # --8<-- [start:by_time]
            task_id = new_task_id()  # known in advance, so we can wait for its result
            at = datetime.now(UTC) + timedelta(seconds=2)
            await (
                remind.kicker()
                .with_task_id(task_id)
                .schedule_by_time(schedule_source, at, text="stand-up in 5 minutes")
            )
            # --8<-- [end:by_time]
            print(f"scheduled remind for {at:%H:%M:%S} UTC, task id {task_id}")
            task = AsyncTaskiqTask(task_id, email_broker.result_backend)
            result = await task.wait_result(timeout=30)
            late = datetime.fromisoformat(result.return_value["ran_at"]) - at
            print(f"ran: {result.return_value['text']!r}, {late.total_seconds():.1f} s after")

            # --8<-- [start:by_cron]
            weekly = await remind.kicker().schedule_by_cron(
                schedule_source,
                CronSpec(minutes=0, hours=9, weekdays="mon", offset="Europe/Paris"),
                text="weekly planning",
            )
            print(f"every Monday at 09:00 Paris time: schedule {weekly.schedule_id}")
            await weekly.unschedule()  # cancelled: deleted from the schedule source
            # --8<-- [end:by_cron]
            ids = [s.schedule_id for s in await schedule_source.get_schedules()]
            print(f"still scheduled: {weekly.schedule_id in ids}")
    finally:
        await email_broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
