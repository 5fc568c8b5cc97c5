"""A quick task on the app's broker and a slow one on the second broker, ``slow_broker``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq.brokers import slow_broker


# --8<-- [start:tasks]
@email_broker.task(task_name="queues.send_receipt")
async def send_receipt(order_id: int) -> dict[str, Any]:
    return {"order_id": order_id, "sent_at": time.time()}  # quick: an email, a webhook


@slow_broker.task(task_name="queues.build_export")
async def build_export(order_id: int, seconds: float = 3.0) -> dict[str, Any]:
    await asyncio.sleep(seconds)  # stands in for minutes of work
    return {"order_id": order_id, "finished_at": time.time()}


# --8<-- [end:tasks]
