"""What ``taskiq worker reference_app.infrastructure.taskiq.worker:email_broker`` imports.

Importing this module gives the worker the broker *and every task of the app*: it imports
``reference_app/modules/<feature>/tasks.py`` for every feature package, by convention (the same
idea as taskiq's ``--tasks-pattern``), so adding a feature never edits this file.

It also plugs in taskiq-fastapi, so tasks can depend on what the app's lifespan sets up, and
closes the task database engine when the worker stops.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import pkgutil

import taskiq_fastapi
from fastapi import Request
from starlette.requests import HTTPConnection
from taskiq import TaskiqEvents, TaskiqState

from reference_app.infrastructure.taskiq.brokers import email_broker
from reference_app.infrastructure.taskiq.deps import dispose_task_engine

FEATURES_PACKAGE = "reference_app.modules"
APP_FACTORY = "reference_app.main:create_app"


def discover_task_modules(package_name: str = FEATURES_PACKAGE) -> list[str]:
    """Import ``<package>.<feature>.tasks`` for each feature that has one; return their names.

    An error inside a tasks module is raised, not skipped: a worker that silently lacks a task
    would leave its messages waiting forever.
    """
    if importlib.util.find_spec(package_name.partition(".")[0]) is None or _missing(package_name):
        return []  # a project with no feature package (yet): only the modules given to the worker
    package = importlib.import_module(package_name)
    imported = []
    for feature in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not feature.ispkg:
            continue
        name = f"{package_name}.{feature.name}.tasks"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            imported.append(name)
    return imported


# --8<-- [start:signal_tick]
async def _start_signal_tick(state: TaskiqState) -> None:
    """Wake the event loop 10 times a second, so that SIGTERM is acted on at once.

    taskiq installs its signal handlers with ``signal.signal``; Python runs such a handler only
    when the event loop wakes up. An idle RabbitMQ worker's loop sleeps until the next
    heartbeat, so it noticed SIGTERM only 4 to 5 s late (measured); with this tick, in 0.1 s.
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


# --8<-- [start:fastapi_context]
async def _fastapi_objects_as_context(state: TaskiqState) -> None:
    """Give tasks the app's ``Request`` from the dependency context, not as an override.

    taskiq-fastapi registers ``Request`` and ``HTTPConnection`` as dependency overrides, and
    taskiq-dependencies 1.5 rebuilds a task's whole dependency graph on *every call* when
    any override is set: about a fifth of a no-op task's time in our profile. Values in the
    broker's ``custom_dependency_context`` are looked up instead, with no rebuild. Tasks get
    one shared ``Request`` per worker process, built the way taskiq-fastapi builds it.
    """
    for dependency in (Request, HTTPConnection):
        factory = email_broker.dependency_overrides.pop(dependency, None)
        if factory is not None:
            email_broker.custom_dependency_context[dependency] = factory()


# --8<-- [end:fastapi_context]


def _missing(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is None
    except ModuleNotFoundError:  # a parent package is missing
        return True


# --8<-- [start:worker]
task_modules = discover_task_modules()
# Run the FastAPI app's lifespan inside each worker, so tasks can use what it sets up.
if not _missing(APP_FACTORY.partition(":")[0]):  # a project without the app: tasks only
    taskiq_fastapi.init(email_broker, APP_FACTORY)
    email_broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, _fastapi_objects_as_context)
email_broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, dispose_task_engine)
email_broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, _start_signal_tick)
email_broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, _stop_signal_tick)
# --8<-- [end:worker]

__all__ = ["email_broker", "task_modules"]
