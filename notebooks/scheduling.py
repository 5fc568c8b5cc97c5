# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Scheduled tasks
#
# Some tasks have no caller: a digest every weekday morning, a clean-up every night, a
# reminder at a given minute. A **scheduler process** (`taskiq scheduler`) reads schedules and
# puts each task on the queue when it is due; a worker then runs it like any other task. The
# scheduler itself runs nothing. With the `scheduling` recipe's tasks (`recipes/scheduling/`),
# this notebook:
#
# 1. reads a schedule written on a task, the way the scheduler reads it;
# 2. checks whether a cron line is due at chosen instants, without waiting for the clock;
# 3. starts a worker and a scheduler, and schedules a one-off reminder two seconds ahead;
# 4. schedules a task every second, counts its runs, and cancels it.

# %% [markdown]
# ## Setup: this notebook's own database and queue
#
# `setup()` (`notebooks/nbsetup.py`) points the app at a fresh temporary folder with the
# embedded SQLite broker, before anything is imported from `reference_app`, and returns
# `cleanup`, which stops the processes we start and removes the folder at the end.
#
# One setting more: the scheduler reads the schedules added at run time again every
# `TASKIQ_SCHEDULE_REFRESH_SECONDS` (5 by default). At 1, a schedule we add is seen within
# a second, and the notebook waits less.

# %%
from nbsetup import setup

workdir, cleanup = setup("scheduling", TASKIQ_SCHEDULE_REFRESH_SECONDS=1)

# %% [markdown]
# ## A schedule written on the task: the `schedule` label
#
# `morning_digest` carries its schedule as a label: a cron line (07:00, Monday to Friday),
# the time zone it is read in, and a fixed `schedule_id` (without one, every scheduler process
# would make up its own). The scheduler finds such labels with `LabelScheduleSource`, which
# looks at every task imported so far (in the scheduler process: every task the worker entry
# imports); we do the same here. `remind` has no label: we will schedule it at run time.

# %%
from taskiq.schedule_sources import LabelScheduleSource

from recipes.scheduling.tasks import morning_digest, remind
from reference_app.infrastructure.taskiq import email_broker

print("the label:", morning_digest.labels["schedule"])

labels = LabelScheduleSource(email_broker)
await labels.startup()  # collects the schedule labels of the tasks imported so far
for schedule in await labels.get_schedules():
    print(
        f"read by the scheduler: {schedule.task_name} on {schedule.cron!r} "
        f"({schedule.cron_offset}), schedule id {schedule.schedule_id!r}"
    )

# %% [markdown]
# ## Is it due at this instant? Ask taskiq, not the clock
#
# Every second, the scheduler asks taskiq's `is_cron_task_now` whether a cron line is due at
# *now*. We can ask the same question about any instant, so a test never waits for 07:00.
# The `cron_offset` moves the line into Paris time, summer time included: 07:00 in Paris is
# 06:00 UTC in winter and 05:00 UTC in summer. The same line without an offset is read in UTC.

# %%
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from taskiq.cli.scheduler.run import is_cron_task_now

[digest] = [s for s in await labels.get_schedules() if s.task_name == morning_digest.task_name]
paris = ZoneInfo(digest.cron_offset)

mondays = ["2026-12-07T06:00", "2026-12-07T07:00", "2026-06-08T05:00", "2026-06-08T06:00"]
for utc in [*mondays, "2026-12-06T06:00"]:  # the last one is a Sunday
    instant = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    in_paris = is_cron_task_now(digest.cron, instant, offset=digest.cron_offset)
    in_utc = is_cron_task_now(digest.cron, instant)
    print(
        f"{instant:%a %d %b %H:%M} UTC = {instant.astimezone(paris):%H:%M %Z} in Paris:  "
        f"due {in_paris!s:<5}  (read in UTC: due {in_utc})"
    )

# %% [markdown]
# The same check shows how a bad cron line fails: quietly. Minute 61 does not exist, yet the
# line is accepted and simply never matches; a line with four fields raises `CronValueError`,
# which the scheduler only logs as a warning, every second, and skips.

# %%
from datetime import timedelta

from taskiq.cli.scheduler.run import CronValueError

monday = datetime(2026, 12, 7, tzinfo=UTC)
minutes_of_a_day = [monday + timedelta(minutes=n) for n in range(24 * 60)]
never = not any(is_cron_task_now("61 * * * *", minute) for minute in minutes_of_a_day)
print("'61 * * * *' is accepted, and due at no minute of a day:", never)
try:
    is_cron_task_now("0 7 * *", monday)
except CronValueError as exc:
    print("'0 7 * *':", type(exc).__name__, exc)

# %% [markdown]
# ## A worker and a scheduler
#
# Two processes, each a context manager from `taskiq_extras.processes`, entered into
# `cleanup` so that they keep running across cells and are stopped at the end. The worker
# runs tasks; the scheduler (`python -m reference_app.infrastructure.taskiq.run_scheduler`,
# which `make scheduler` runs) sends them when they are due. Both import the recipe's tasks.

# %%
from reference_app.infrastructure.taskiq import run_scheduler, run_worker
from taskiq_extras.processes import scheduler_process, worker_process

await email_broker.startup()  # this process is a client: it schedules and reads results
worker = cleanup.enter_context(worker_process(run_worker, "recipes.scheduling.tasks"))
scheduler = cleanup.enter_context(scheduler_process(run_scheduler, "recipes.scheduling.tasks"))
print(f"worker pid {worker.pid}, scheduler pid {scheduler.pid}")

# %% [markdown]
# Schedules added at run time go to `schedule_source`: with the SQLite broker, a table of the
# app's database, so they survive a restart of the scheduler. `schedule_by_time` stores a
# one-off schedule there and returns at once. We choose the task id (`with_task_id`), so
# that we can wait for the result of a run that has not even been sent yet.
#
# A time that has already come is not skipped: the scheduler sends it the first time it
# looks. So a one-off added while the scheduler was down, or still starting as ours is now,
# runs once it is up. A reminder due *now* tells us when that is:

# %%
import time

from taskiq import AsyncTaskiqTask

from reference_app.infrastructure.taskiq.brokers import schedule_source
from taskiq_extras.task_ids import new_task_id

started = time.monotonic()
first_id = new_task_id()
await (
    remind.kicker()
    .with_task_id(first_id)
    .schedule_by_time(schedule_source, datetime.now(UTC), text="the scheduler is up")
)
first = await AsyncTaskiqTask(first_id, email_broker.result_backend).wait_result(timeout=60)
print(f"ran: {first.return_value['text']!r}, {time.monotonic() - started:.1f} s after we asked")

# %% [markdown]
# ## A reminder two seconds ahead
#
# Now the same with a time in the future. Nothing runs until the scheduler sends it; we wait
# for the result as for any task, with a timeout.

# %%
task_id = new_task_id()
at = datetime.now(UTC) + timedelta(seconds=2)
one_off = await (
    remind.kicker()
    .with_task_id(task_id)
    .schedule_by_time(schedule_source, at, text="stand-up in 5 minutes")
)
print(f"schedule {one_off.schedule_id}: remind at {at:%Y-%m-%d %H:%M:%S} UTC, task id {task_id}")

result = await AsyncTaskiqTask(task_id, email_broker.result_backend).wait_result(timeout=30)
late = (datetime.fromisoformat(result.return_value["ran_at"]) - at).total_seconds()
print("ran:", repr(result.return_value["text"]))
print("not before its time:", late >= 0)
print("ran within 2 s of its time:", late < 2)

# %% [markdown]
# The scheduler looks at its schedules once a second, on the second: a task due at
# 09:41:07.1 is sent at 09:41:08, up to a second late, never early.
#
# ## Every second, then cancelled
#
# `schedule_by_interval` stores a schedule that is sent again and again. Each run is a new
# task with a new id, so here we count runs another way: the extras record every run in
# the app database's `task_runs` table. We count the runs of `scheduling.remind` that
# succeeded since we added the schedule, polling until three are in or a deadline passes.

# %%
import asyncio
import sqlite3


def runs_since(since: float) -> int:
    with sqlite3.connect(workdir / "app.db") as db:
        return db.execute(
            "SELECT count(*) FROM task_runs WHERE task_name = 'scheduling.remind'"
            " AND status = 'succeeded' AND started_at >= ?",
            (since,),
        ).fetchone()[0]


added = time.time()
every_second = await remind.kicker().schedule_by_interval(
    schedule_source, 1, text="drink some water"
)
deadline = time.monotonic() + 30
while (count := runs_since(added)) < 3 and time.monotonic() < deadline:
    await asyncio.sleep(0.2)
print(f"schedule {every_second.schedule_id}: at least 3 runs seen: {count >= 3}")

# %% [markdown]
# `unschedule()` deletes the schedule from its source; the scheduler notices at its next
# refresh and sends it no more.

# %%
await every_second.unschedule()
ids = [s.schedule_id for s in await schedule_source.get_schedules()]
print("still scheduled:", every_second.schedule_id in ids)
print("schedules left in the source:", ids)

# %% [markdown]
# ## What goes wrong
#
# - **Two schedulers send every tick twice** with stock taskiq, which expects exactly one
#   scheduler process. With the extras (`TASKIQ_EXTRAS=true`, the default) the app's
#   scheduler claims each tick in the database before sending, so any number of them send
#   each tick once.
# - **A bad cron line fails quietly**, as above: logged every second, or never matching.
#   Check the fields when the line is given, not when it should fire.
# - **Time zones**: a cron line without `cron_offset` is read in UTC, and so is a `time`
#   without a zone.
# - **The task never runs** if no worker imports it: the scheduler only sends.
#
# The docs page *Scheduled tasks* (`docs/recipes/scheduling.md`) has the details, the tests
# behind them, and schedules added through the app's API.
#
# ## Clean up
#
# Stop the scheduler and the worker (SIGTERM, as `docker stop` would), and disconnect. The
# worker finishes what it holds and exits with 0. So does the scheduler: stock `taskiq
# scheduler` has no handler for SIGTERM and simply dies of it (exit code -15), but the app's
# scheduler (with the extras) treats it like Ctrl-C, frees a tick it was sending, and shuts
# down cleanly. Its schedules stay in the database.

# %%
await schedule_source.shutdown()
await email_broker.shutdown()
cleanup.close()
print("scheduler stopped, exit code", scheduler.returncode)
print("worker stopped, exit code", worker.returncode)
