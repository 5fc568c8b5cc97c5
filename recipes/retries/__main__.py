"""python -m recipes.retries: a flaky task retried to success, one that gives up, a timeout."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import async_sessionmaker

from recipes.retries.models import Attempt, Charge
from recipes.retries.tasks import (
    call_slow_service,
    charge_order,
    fetch_rates,
    parse_upload,
    sync_inventory,
)
from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from reference_app.infrastructure.taskiq import email_broker, run_worker
from taskiq_extras.processes import worker_process


async def main() -> None:
    settings = get_settings()
    engine = create_engine_from_settings(settings.DATABASE_URL)
    await create_tables(engine)
    sessions = async_sessionmaker(engine)
    run = uuid.uuid4().hex[:8]  # fresh keys, so the recipe can run again on the same database
    keys = {name: f"{name}-{run}" for name in ("rates", "inventory", "upload")}
    order_id = int(run, 16)
    print(f"retry delay {settings.TASKIQ_RETRY_DELAY:g} s, growing, plus up to 1 s of jitter")
    await email_broker.startup()
    try:
        with worker_process(run_worker, "recipes.retries.tasks"):
            # --8<-- [start:run]
            rates = await fetch_rates.kiq(key=keys["rates"], fail_times=2)
            inventory = await sync_inventory.kiq(key=keys["inventory"])
            upload = await parse_upload.kiq(key=keys["upload"])
            slow = await call_slow_service.kiq(seconds=30)
            first = await charge_order.kiq(order_id=order_id, amount=40)
            again = await charge_order.kiq(order_id=order_id, amount=40)  # a duplicate
            results = {
                name: await task.wait_result(timeout=60)
                for name, task in [("rates", rates), ("inventory", inventory),
                                   ("upload", upload), ("slow", slow),
                                   ("charge", first), ("charge again", again)]
            }  # fmt: skip
            # --8<-- [end:run]
    finally:
        await email_broker.shutdown()
    async with sessions() as db:
        for name in ("rates", "inventory", "upload"):
            attempts = (await db.get(Attempt, keys[name])).attempts
            outcome = results[name].error or results[name].return_value
            print(f"{name:<10} {attempts} attempt(s) -> {outcome!r}")
        charged = await db.get(Charge, order_id)
    print(f"{'slow':<10} -> {results['slow'].error!r}")
    print(f"charge     -> {results['charge'].return_value}; {results['charge again'].return_value}")
    print(f"charges in the database for order {order_id}: {1 if charged else 0}")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
