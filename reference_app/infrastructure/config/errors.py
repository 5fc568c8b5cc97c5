"""Core: turn a bad setting into one clear line that names the variable to fix."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError

SECRET_HINTS = ("PASSWORD", "SECRET", "TOKEN")


class ConfigurationError(RuntimeError):
    """A setting is wrong, or the service it points at cannot be used. The message says which."""


def describe_validation_error(exc: ValidationError) -> str:
    """``TASKIQ_BROKER_TYPE: Input should be 'sqlite', 'redis' or 'rabbitmq' (got 'kafka')``.

    The value is echoed to help, except for secrets, which are never repeated.
    """
    parts = []
    for error in exc.errors():
        name = ".".join(str(loc) for loc in error["loc"]) or "settings"
        text = f"{name}: {error['msg']}"
        if not any(hint in name.upper() for hint in SECRET_HINTS) and "input" in error:
            text += f" (got {error['input']!r})"
        parts.append(text)
    return "invalid configuration: " + "; ".join(parts)


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Silence library logging (below CRITICAL) while we check a connection ourselves."""
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
