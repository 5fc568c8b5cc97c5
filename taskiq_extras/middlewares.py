"""Extras: refuse task arguments that cannot travel, at ``.kiq()``."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel
from taskiq import TaskiqMessage, TaskiqMiddleware


class TaskArgumentError(TypeError):
    """A task's arguments cannot travel as JSON (at ``.kiq()``) or do not fit its signature
    (in the worker, before it runs)."""


def _plain_json(value: Any) -> bool:
    """JSON as the standard library writes it, with no default: dict, list, str, int, float
    (finite), bool, None, nested; and pydantic models, which taskiq writes and reads back."""
    if isinstance(value, BaseModel):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain_json(item) for item in value)
    return value is None or isinstance(value, str | int | bool)


def _hint(value: Any) -> str:
    kind = type(value).__name__
    module = type(value).__module__
    if module.startswith("sqlalchemy") or hasattr(type(value), "__mapper__"):
        return (
            f"a SQLAlchemy {kind} cannot leave this process: pass the row's id and load it "
            "in the task with `db: AsyncSession = TaskiqDepends(get_db_session)`"
        )
    if hasattr(value, "isoformat"):
        return f"{kind} is not JSON: pass value.isoformat() and parse it in the task"
    if isinstance(value, float):
        return "NaN and Infinity are not JSON: pass a finite number or None"
    return f"{kind} is not JSON-serializable: pass plain data (str, int, float, bool, list, dict)"


class JsonArgumentsGuard(TaskiqMiddleware):
    """Refuse, at ``.kiq()`` time and with a clear message, arguments that are not JSON.

    Without it taskiq raises a bare ``SendTaskError('Cannot send task to the queue')``.
    """

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        named = [(f"argument {i}", value) for i, value in enumerate(message.args)]
        named += [(f"argument {name!r}", value) for name, value in message.kwargs.items()]
        for label, value in named:
            if not _plain_json(value):
                raise TaskArgumentError(f"task {message.task_name!r}: {label}: {_hint(value)}")
        return message
