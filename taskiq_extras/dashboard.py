"""Extras: taskiq-dashboard as an option: its middleware on a broker, its server on uvicorn.

taskiq-dashboard (``pip install '.[dashboard]'``) is a separate web app with its own database.
Its ``DashboardMiddleware`` POSTs one HTTP request per task event (queued in the process that
enqueues, started and executed in the worker) to ``<url>/api/tasks/<id>/<event>``. Each
request is fired in the background (``asyncio.create_task``): a task never waits for it, and a
dashboard that is down costs a logged error per event, not a failed or slower task.

The package is imported only when ``add_dashboard`` is called.
"""

from __future__ import annotations

import asyncio
from typing import Any

from taskiq import AsyncBroker, TaskiqMessage, TaskiqResult


class DashboardConfigError(ValueError):
    """The dashboard is asked for but cannot be used; the message says what to set."""


# --8<-- [start:dashboard]
def add_dashboard(broker: AsyncBroker, url: str, token: str | None, broker_name: str) -> None:
    """Report every task event of ``broker`` to the taskiq-dashboard at ``url``.

    ``broker_name`` is shown as the dashboard's "worker" column (e.g. ``redis:taskiq``).
    """
    try:
        from taskiq_dashboard import DashboardMiddleware
    except ImportError:
        raise DashboardConfigError(
            "TASKIQ_DASHBOARD_URL is set but taskiq-dashboard is not installed: "
            "pip install taskiq-dashboard (or unset TASKIQ_DASHBOARD_URL)"
        ) from None
    if not token:
        raise DashboardConfigError("TASKIQ_DASHBOARD_URL is set: set TASKIQ_DASHBOARD_TOKEN too")
    middleware = fixed(DashboardMiddleware)
    broker.add_middlewares(middleware(url=url, api_token=token, broker_name=broker_name))


# --8<-- [end:dashboard]


# --8<-- [start:fixed]
def fixed(middleware: type[Any]) -> type[Any]:
    """taskiq-dashboard 0.5.2's middleware with two fixes, both shown by the tests.

    1. Events of one task are sent one after the other. Upstream sends each in its own
       background request, so a task that ends within a few ms can have its "executed"
       stored before its "started", which sets it back to *in progress* for good.
       Still in the background: the task itself never waits.
    2. A result that is not a JSON object, array or null is sent as ``{"value": ...}``. The
       dashboard stores any result but reads back only objects and arrays: one task returning
       ``42`` or ``"done"`` makes its task list and the task's page answer 500.
    """

    class Fixed(middleware):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._last: dict[str, asyncio.Task[None]] = {}  # per task id: its latest event

        async def _spawn_request(self, endpoint: str, payload: dict[str, Any]) -> None:
            task_id = endpoint.split("/")[2]  # api/tasks/<task_id>/<event>
            previous = self._last.get(task_id)
            send = super()._spawn_request

            async def after_previous() -> None:
                if previous is not None:
                    await asyncio.wait([previous])
                before = set(self._pending)
                await send(endpoint, payload)  # starts the request, never yields before
                if started := self._pending - before:
                    await asyncio.wait(started)
                if self._last.get(task_id) is chained:
                    del self._last[task_id]

            chained = asyncio.create_task(after_previous())
            self._last[task_id] = chained
            self._pending.add(chained)  # awaited on shutdown, like upstream's requests
            chained.add_done_callback(self._pending.discard)

        async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
            value = result.model_dump(mode="json")["return_value"]
            if value is not None and not isinstance(value, dict | list):
                result = result.model_copy(update={"return_value": {"value": value}})
            await super().post_execute(message, result)

    Fixed.__name__ = Fixed.__qualname__ = f"Fixed{middleware.__name__}"
    return Fixed


# --8<-- [end:fixed]


# --8<-- [start:dashboard_app]
def dashboard_app() -> Any:
    """The dashboard as a plain ASGI app, for ``uvicorn --factory`` (no granian needed).

    Configured by taskiq-dashboard's own variables (``TASKIQ_DASHBOARD__API__TOKEN``,
    ``TASKIQ_DASHBOARD__STORAGE_TYPE``, ``TASKIQ_DASHBOARD__SQLITE__DSN``, ...), as its
    ``python -m taskiq_dashboard.api`` and its Docker image are. No broker is passed: the
    dashboard's "run again" and "kick" buttons, which it does not protect with the token,
    stay off.
    """
    from taskiq_dashboard import TaskiqDashboard
    from taskiq_dashboard.infrastructure import get_settings as dashboard_settings

    config = dashboard_settings()
    storage = config.postgres if config.storage_type == "postgres" else config.sqlite
    return TaskiqDashboard(
        api_token=config.api.token.get_secret_value(),
        storage_type=config.storage_type,
        database_dsn=storage.dsn.get_secret_value(),
    ).application


# --8<-- [end:dashboard_app]
