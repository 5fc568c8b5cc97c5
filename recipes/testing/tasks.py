"""Two tasks to test: a pure one, and one that writes through the task's DB session."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import TaskiqDepends

from recipes.testing.models import Order
from reference_app.infrastructure.taskiq import email_broker, register_task
from reference_app.infrastructure.taskiq.deps import get_db_session


# --8<-- [start:tasks]
@email_broker.task(task_name="testing.slugify")
async def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


register_task("testing.slugify", "email_broker", slugify)


@email_broker.task(task_name="testing.apply_discount")
async def apply_discount(
    order_id: int, percent: float, db: AsyncSession = TaskiqDepends(get_db_session)
) -> float:
    order = await db.get(Order, order_id)
    if order is None:
        raise LookupError(f"order {order_id} does not exist")
    order.total = round(order.total * (1 - percent / 100), 2)
    return order.total


register_task("testing.apply_discount", "email_broker", apply_discount)
# --8<-- [end:tasks]
