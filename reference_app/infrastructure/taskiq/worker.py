"""Core: the worker entry that `taskiq worker ...taskiq.worker:email_broker` imports.

A worker runs only the tasks it has imported. This is the one file of ``infrastructure`` that
names the app: it imports each feature's ``tasks`` module (add a line when a feature gets
tasks) and plugs in taskiq-fastapi, so tasks can use what the app's lifespan sets up. A
project of your own replaces the block marked ``app`` with its own imports and app path.
"""

from __future__ import annotations

import taskiq_fastapi
from taskiq import TaskiqEvents

from .brokers import app_brokers, email_broker, load_settings, slow_broker
from .deps import dispose_task_engine

# isort: split
# --8<-- [start:app]
# The app's tasks: a worker runs only the tasks it has imported. One line per feature.
from reference_app.modules.email import tasks as email_tasks
from reference_app.modules.maintenance import tasks as maintenance_tasks
from reference_app.modules.reports import tasks as report_tasks
from reference_app.settings import check_settings

check_settings()  # every feature's settings too: a bad value stops the worker with one line

TASK_MODULES = [email_tasks, report_tasks, maintenance_tasks]
# Run the app's lifespan inside each worker, so tasks can use what it sets up.
for broker in app_brokers():  # email_broker, and slow_broker if it is another
    taskiq_fastapi.init(broker, "reference_app.main:create_app")
# --8<-- [end:app]

# --8<-- [start:worker]
for broker in app_brokers():
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, dispose_task_engine)
    if load_settings().TASKIQ_EXTRAS:  # extras: SIGTERM heard at once, Request without rebuilds
        from taskiq_extras.worker_hooks import add_worker_hooks

        add_worker_hooks(broker)
# --8<-- [end:worker]

__all__ = ["TASK_MODULES", "email_broker", "slow_broker"]
