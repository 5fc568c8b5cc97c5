"""Extras: worker event handlers we measured a need for.

from taskiq_extras.worker_hooks import add_worker_hooks
add_worker_hooks(broker)   # after taskiq_fastapi.init(broker, ...), if you use it
"""

from __future__ import annotations

import asyncio

from taskiq import AsyncBroker, TaskiqEvents, TaskiqState


# --8<-- [start:signal_tick]
async def _start_signal_tick(state: TaskiqState) -> None:
    """Wake the event loop 10 times a second, so that SIGTERM is acted on at once.

    taskiq installs its signal handlers with ``signal.signal``; Python runs such a handler only
    when the event loop wakes up. An idle RabbitMQ worker's loop sleeps until the next
    heartbeat, so without this tick it notices SIGTERM seconds late (docs: Beyond stock).
    """

    async def tick() -> None:
        while True:  # noqa: ASYNC110 - waking the loop up is the point
            await asyncio.sleep(0.1)

    state.signal_tick = asyncio.get_running_loop().create_task(tick())


# --8<-- [end:signal_tick]


async def _stop_signal_tick(state: TaskiqState) -> None:
    tick = getattr(state, "signal_tick", None)
    if tick is not None:
        tick.cancel()


def _fastapi_objects_as_context(broker: AsyncBroker):
    # --8<-- [start:fastapi_context]
    async def handler(state: TaskiqState) -> None:
        """Give tasks the app's ``Request`` from the dependency context, not as an override.

        taskiq-fastapi registers ``Request`` and ``HTTPConnection`` as dependency overrides,
        and taskiq-dependencies rebuilds a task's whole dependency graph on *every call* when
        any override is set. Values in the broker's ``custom_dependency_context`` are looked
        up instead, with no rebuild: one shared ``Request`` per worker process, built the way
        taskiq-fastapi builds it.
        """
        from fastapi import Request
        from starlette.requests import HTTPConnection

        for dependency in (Request, HTTPConnection):
            factory = broker.dependency_overrides.pop(dependency, None)
            if factory is not None:
                broker.custom_dependency_context[dependency] = factory()

    # --8<-- [end:fastapi_context]
    return handler


def add_worker_hooks(broker: AsyncBroker) -> None:
    """The signal tick, and taskiq-fastapi's objects as context (when it is plugged in)."""
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, _fastapi_objects_as_context(broker))
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, _start_signal_tick)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, _stop_signal_tick)
