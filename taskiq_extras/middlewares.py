"""Extras: refuse task arguments that cannot travel, at ``.kiq()``."""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticSerializationError, to_jsonable_python
from taskiq import TaskiqMessage, TaskiqMiddleware


class TaskArgumentError(TypeError):
    """A task's arguments cannot travel as JSON (at ``.kiq()``) or do not fit its signature
    (in the worker, before it runs)."""


def _hint(value: Any) -> str:
    kind = type(value).__name__
    module = type(value).__module__
    if module.startswith("sqlalchemy") or hasattr(type(value), "__mapper__"):
        return (
            f"a SQLAlchemy {kind} cannot leave this process: pass the row's id and load it "
            "in the task with `db: AsyncSession = TaskiqDepends(get_db_session)`"
        )
    return f"{kind} is not JSON-serializable: pass plain data (str, int, float, bool, list, dict)"


class JsonArgumentsGuard(TaskiqMiddleware):
    """Refuse, at ``.kiq()`` time and with a clear message, arguments that are not JSON.

    Without it taskiq raises a bare ``SendTaskError('Cannot send task to the queue')``.
    """

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        named = [(f"argument {i}", value) for i, value in enumerate(message.args)]
        named += [(f"argument {name!r}", value) for name, value in message.kwargs.items()]
        for label, value in named:
            try:
                to_jsonable_python(value)
            except (PydanticSerializationError, TypeError, ValueError):
                raise TaskArgumentError(
                    f"task {message.task_name!r}: {label}: {_hint(value)}"
                ) from None
        return message
