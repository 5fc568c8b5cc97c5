"""Core (stock taskiq): the task infrastructure a reader copies: broker, registry, task session.

    from <app>.infrastructure.taskiq import email_broker, register_task
    from <app>.infrastructure.taskiq.deps import get_db_session

The names are loaded on first use, so that ``python -m`` tools inside this package can report
a configuration error as one clear line before any broker is built.
"""

from typing import Any

__all__ = ["build_broker", "email_broker", "register_task"]


def __getattr__(name: str) -> Any:
    if name in ("build_broker", "email_broker"):
        from . import brokers

        return getattr(brokers, name)
    if name == "register_task":
        from .registry import register_task

        return register_task
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
