"""Core (stock taskiq): the task registry: which tasks exist, on which broker, from which module.

``register_task(name, broker_name, task)`` is FastroAI's call. It refuses a second, different
function under a name already taken on the same broker, at import time, because taskiq itself
would silently let the last import win and a worker would run the wrong code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


class DuplicateTaskError(ValueError):
    """Two different functions were registered under one task name on one broker."""


@dataclass(frozen=True)
class RegisteredTask:
    name: str
    broker_name: str
    module: str
    qualname: str
    labels: dict[str, Any] = field(default_factory=dict)
    task: Any = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "broker": self.broker_name,
            "module": self.module,
            "function": self.qualname,
            "labels": {name: _plain(value) for name, value in self.labels.items()},
        }


def _plain(value: Any) -> Any:
    """A label as JSON can show it: classes (``types_of_exceptions``) by their names."""
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


_REGISTRY: dict[tuple[str, str], RegisteredTask] = {}


def _origin(task: Any) -> tuple[str, str]:
    function = getattr(task, "original_func", task)
    return function.__module__, function.__qualname__.removesuffix("__taskiq_original")


# --8<-- [start:register_task]
def register_task(name: str, broker_name: str, task: Any) -> Any:
    """Record ``task`` under ``name`` on ``broker_name``; return the task unchanged."""
    module, qualname = _origin(task)
    task_name = getattr(task, "task_name", name)
    if task_name != name:
        raise ValueError(
            f"register_task({name!r}, ...) names a task whose task_name is {task_name!r}: "
            "use the same name in both places"
        )
    existing = _REGISTRY.get((broker_name, name))
    if existing is not None and (existing.module, existing.qualname) != (module, qualname):
        raise DuplicateTaskError(
            f"task name {name!r} is already registered on broker {broker_name!r} by "
            f"{existing.module}.{existing.qualname}; {module}.{qualname} cannot take it too. "
            "Task names must be unique per broker."
        )
    _REGISTRY[(broker_name, name)] = RegisteredTask(
        name=name,
        broker_name=broker_name,
        module=module,
        qualname=qualname,
        labels=dict(getattr(task, "labels", {}) or {}),
        task=task,
    )
    return task


# --8<-- [end:register_task]


def registered_tasks(broker_name: str | None = None) -> list[RegisteredTask]:
    """Every registered task (on one broker, if named), sorted by broker then name."""
    return sorted(
        (t for t in _REGISTRY.values() if broker_name in (None, t.broker_name)),
        key=lambda t: (t.broker_name, t.name),
    )


def tasks_per_broker() -> dict[str, int]:
    """How many tasks each broker carries."""
    return dict(Counter(t.broker_name for t in _REGISTRY.values()))


def unregister_task(name: str, broker_name: str) -> None:
    """Forget a task (for tests and notebooks that define tasks more than once)."""
    _REGISTRY.pop((broker_name, name), None)
