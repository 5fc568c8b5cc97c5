"""python -m recipes.configuration: the settings in use, each broker type, and the worker's view."""

from __future__ import annotations

import asyncio

from recipes.configuration.brokers import PROFILES, broker_class_for
from recipes.configuration.tasks import where_am_i
from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.taskiq import email_broker, run_worker
from taskiq_extras.processes import worker_process


async def main() -> None:
    # --8<-- [start:current]
    settings = get_settings()  # read once from the environment and .env, then cached
    print(f"this process: {settings.broker_location()}, queue {settings.TASKIQ_QUEUE_NAME!r}")
    # --8<-- [end:current]
    for name, profile in PROFILES.items():
        print(f"  {name:<8} -> {broker_class_for(profile)} at {profile.broker_location()}")
    await email_broker.startup()
    try:
        with worker_process(run_worker, "recipes.configuration.tasks"):
            seen = (await (await where_am_i.kiq()).wait_result(timeout=30)).return_value
    finally:
        await email_broker.shutdown()
    print(f"the worker:   {seen['broker']}, queue {seen['queue']!r}")


if __name__ == "__main__":
    asyncio.run(main())
