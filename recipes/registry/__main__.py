"""python -m recipes.registry: list the registered tasks, run them, and see a clash refused."""

from __future__ import annotations

import asyncio

from taskiq import InMemoryBroker

from recipes.registry.tasks import purge_sessions, resize_avatar
from reference_app.infrastructure.taskiq import email_broker, register_task, run_worker
from reference_app.infrastructure.taskiq.registry import (
    DuplicateTaskError,
    registered_tasks,
    tasks_per_broker,
)
from taskiq_extras.processes import worker_process


def show_registry() -> None:
    # --8<-- [start:list]
    for task in registered_tasks("email_broker"):
        entry = task.as_dict()
        print(f"  {entry['name']:<26} {entry['module']}.{entry['function']}  {entry['labels']}")
    print(f"tasks per broker: {tasks_per_broker()}")
    # --8<-- [end:list]


def try_a_clash() -> None:
    # --8<-- [start:clash]
    other = InMemoryBroker()

    @other.task(task_name="registry.resize_avatar")
    async def resize_avatar_v2(user_id: int) -> str:
        return "a different function under a taken name"

    try:
        register_task("registry.resize_avatar", "email_broker", resize_avatar_v2)
    except DuplicateTaskError as exc:
        print(f"refused: {exc}")
    # --8<-- [end:clash]


async def main() -> None:
    print("registered in this process:")
    show_registry()
    try_a_clash()
    await email_broker.startup()
    try:
        with worker_process(run_worker, "recipes.registry.tasks"):
            for job in (await resize_avatar.kiq(user_id=5), await purge_sessions.kiq()):
                result = await job.wait_result(timeout=30)
                print(f"{result.labels.get('team', '?'):>5} team's task -> {result.return_value}")
    finally:
        await email_broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
