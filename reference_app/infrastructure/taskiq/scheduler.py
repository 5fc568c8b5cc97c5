"""Core: the scheduler entry that `taskiq scheduler ...taskiq.scheduler:scheduler` imports.

A scheduler process sends each task when its schedule is due; workers run it as any other.
Two kinds of schedule: a ``schedule=[...]`` label on a task (read from every task the worker
entry imports) and runtime schedules added to ``schedule_source`` (the API's /schedules).
Stock taskiq wants exactly one scheduler process: two would send every tick twice. With the
extras, any number may run (a second host, an overlapping deploy): each tick is sent once.
"""

from __future__ import annotations

from taskiq import TaskiqScheduler
from taskiq.schedule_sources import LabelScheduleSource

from .brokers import load_settings, schedule_source
from .worker import email_broker  # the worker entry: it imports every task of the app

# --8<-- [start:scheduler]
sources = [LabelScheduleSource(email_broker), schedule_source]
scheduler = TaskiqScheduler(email_broker, sources)
settings = load_settings()
if settings.TASKIQ_EXTRAS:  # extras: one run per tick, however many schedulers run
    from taskiq_extras.scheduling import OneRunPerTickScheduler

    scheduler = OneRunPerTickScheduler(
        email_broker, sources, settings.DATABASE_URL, queue=settings.TASKIQ_QUEUE_NAME
    )
# --8<-- [end:scheduler]

__all__ = ["scheduler"]
