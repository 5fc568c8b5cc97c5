"""Settings for each broker type, built in code, and the broker each one gives."""

from __future__ import annotations

from reference_app.infrastructure.config import Settings
from reference_app.infrastructure.taskiq import build_broker

# --8<-- [start:profiles]
# The same names you would put in the environment or a .env file, as keyword arguments.
# Keyword arguments win over environment variables; `_env_file=None` skips the .env file.
# Any setting not given here still comes from the environment, then the defaults.
PROFILES = {
    "sqlite": Settings(
        _env_file=None,
        TASKIQ_BROKER_TYPE="sqlite",
        TASKIQ_SQLITE_PATH="./var/taskiq-broker.db",
    ),
    "redis": Settings(
        _env_file=None,
        TASKIQ_BROKER_TYPE="redis",
        TASKIQ_REDIS_HOST="localhost",
        TASKIQ_REDIS_DB=3,  # tasks' keys apart from the cache's (DB 0)
    ),
    "rabbitmq": Settings(
        _env_file=None,
        TASKIQ_BROKER_TYPE="rabbitmq",
        TASKIQ_RABBITMQ_HOST="localhost",
        TASKIQ_RABBITMQ_VHOST="/",  # a vhost per app or environment keeps queues apart
    ),
}
# --8<-- [end:profiles]


# --8<-- [start:build]
def broker_class_for(settings: Settings) -> str:
    """Building a broker connects to nothing: only ``startup()`` does. It does import that
    broker's client library, which a project installs only for the broker it runs."""
    try:
        return type(build_broker(settings)).__name__
    except ModuleNotFoundError as exc:
        return f"(not installed here: {exc.name})"


# --8<-- [end:build]
