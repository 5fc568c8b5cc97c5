"""A broker client in the test process, for the broker under test (like the web process has)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

from reference_app.infrastructure.taskiq.brokers import build_broker, start_broker
from tests.support.brokers import BrokerEnv


@asynccontextmanager
async def producer(env: BrokerEnv, **settings: object) -> AsyncIterator[AsyncBroker]:
    config = env.settings(**settings)
    broker = build_broker(config)
    await start_broker(broker, config)
    try:
        yield broker
    finally:
        await broker.shutdown()


async def kick(
    broker: AsyncBroker, task_name: str, *, labels: dict[str, Any] | None = None, **kwargs: Any
):
    """Enqueue a task by name, as a process that does not import the task's module would.

    Such a process does not know the labels of the task's decorator: pass them if they matter.
    """
    return await AsyncKicker(task_name, broker, labels or {}).kiq(**kwargs)
