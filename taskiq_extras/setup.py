"""Extras: what ``TASKIQ_EXTRAS=true`` adds to any broker, in one call.

    from taskiq_extras.setup import add_extras
    add_extras(broker, settings)

``settings`` is any object with the attributes read below (the reference app passes its
pydantic settings); nothing here imports the app.
"""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker

from .middlewares import JsonArgumentsGuard
from .task_ids import new_task_id


def add_extras(broker: AsyncBroker, settings: Any) -> AsyncBroker:
    """Time-ordered task ids, the JSON check at ``.kiq()``, task-run records, the dashboard."""
    broker.with_id_generator(new_task_id)  # SQLite tables keyed by task id stay cheap to write
    broker.add_middlewares(JsonArgumentsGuard())
    # --8<-- [start:recorder]
    if settings.TASKIQ_RUNS_ENABLED:
        from .runs import TaskRunRecorder

        broker.add_middlewares(
            TaskRunRecorder(
                settings.DATABASE_URL,
                # the broker and its queue (the app may have two: TASKIQ_SLOW_QUEUE)
                broker_name=f"{settings.TASKIQ_BROKER_TYPE}:{settings.TASKIQ_QUEUE_NAME}"[:50]
                if settings.TASKIQ_ENABLED
                else "inmemory",
                flush_interval=settings.TASKIQ_RUNS_FLUSH_INTERVAL,
                max_age_seconds=settings.TASKIQ_RUNS_MAX_AGE_HOURS * 3600,
                max_rows=settings.TASKIQ_RUNS_MAX_ROWS,
                default_max_retries=settings.TASKIQ_RETRY_MAX_TRIES,
            )
        )
    # --8<-- [end:recorder]
    if settings.TASKIQ_DASHBOARD_URL:  # taskiq-dashboard, an optional third-party app
        from .dashboard import add_dashboard

        token = settings.TASKIQ_DASHBOARD_TOKEN
        add_dashboard(
            broker,
            settings.TASKIQ_DASHBOARD_URL,
            token.get_secret_value() if token is not None else None,
            broker_name=f"{settings.TASKIQ_BROKER_TYPE}:{settings.TASKIQ_QUEUE_NAME}",
        )
    return broker
