"""A route that shows the registry, as the reference app serves it at ``GET /tasks/registry``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from reference_app.infrastructure.taskiq.registry import registered_tasks, tasks_per_broker

router = APIRouter(prefix="/tasks", tags=["tasks"])


# --8<-- [start:route]
@router.get("/registry")
async def task_registry(broker: str | None = None) -> dict[str, Any]:
    """Every task this process registered (optionally one broker's), and how many per broker."""
    return {
        "tasks": [task.as_dict() for task in registered_tasks(broker)],
        "tasks_per_broker": tasks_per_broker(),
    }


# --8<-- [end:route]
