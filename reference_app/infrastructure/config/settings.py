"""Core: the settings of the infrastructure (``TASKIQ_*``, ``DATABASE_URL``).

Nothing else in the project reads ``os.environ``: code asks :func:`get_settings` instead.
Secrets are ``SecretStr`` so that ``repr()``, logs and error messages show ``**********``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BrokerType = Literal["sqlite", "redis", "rabbitmq"]


# --8<-- [start:settings]
class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # --- the app's own database (the web process and the tasks share it) ---
    DATABASE_URL: str = "sqlite+aiosqlite:///./var/app.db"  # or postgresql+asyncpg://...
    # connections a worker process keeps for its tasks: 0 = NullPool (one per task, closed
    # after it); N = a pool of N per process. Mind: processes x N <= the server's limit
    DATABASE_TASK_POOL_SIZE: int = Field(0, ge=0, le=100)

    # --- which broker carries the tasks ---
    TASKIQ_ENABLED: bool = True  # false: tasks run inside the web process (tests, tiny apps)
    TASKIQ_BROKER_TYPE: BrokerType = "sqlite"  # sqlite | redis | rabbitmq
    TASKIQ_QUEUE_NAME: str = "taskiq"  # stream key, queue name or SQLite queue column
    # true: our hardened pieces (taskiq_extras) on top of stock taskiq; false: stock only
    TASKIQ_EXTRAS: bool = True
    # true: slow tasks (reports) go to a second queue, <TASKIQ_QUEUE_NAME>.slow, with workers
    # of its own (make worker QUEUE=slow), so they never hold up an email; every process of
    # the app (API, workers, scheduler) must agree on it
    TASKIQ_SLOW_QUEUE: bool = False

    # sqlite: the embedded default, one file, no server
    TASKIQ_SQLITE_PATH: Path = Path("./var/taskiq-broker.db")
    TASKIQ_POLL_INTERVAL: float = Field(
        0.02, gt=0, le=5
    )  # idle sqlite/redis workers: s between polls

    # redis (taskiq-redis, stream broker with acknowledgements)
    TASKIQ_REDIS_HOST: str = "localhost"
    TASKIQ_REDIS_PORT: int = Field(6379, ge=1, le=65535)
    TASKIQ_REDIS_DB: int = Field(3, ge=0)  # keep tasks away from the cache's keys
    TASKIQ_REDIS_PASSWORD: SecretStr | None = None
    TASKIQ_REDIS_TLS: bool = False  # rediss://: TLS to Redis (verifies the server's cert)
    TASKIQ_REDIS_STREAM_MAXLEN: int = Field(100_000, ge=1)  # most tasks waiting; then refuse

    # rabbitmq (taskiq-aio-pika >= 0.6)
    TASKIQ_RABBITMQ_HOST: str = "localhost"
    TASKIQ_RABBITMQ_PORT: int = Field(5672, ge=1, le=65535)
    TASKIQ_RABBITMQ_USER: str = "guest"
    TASKIQ_RABBITMQ_PASSWORD: SecretStr = SecretStr("guest")
    TASKIQ_RABBITMQ_VHOST: str = "/"
    TASKIQ_RABBITMQ_TLS: bool = False  # amqps: TLS to RabbitMQ (usually port 5671)
    TASKIQ_RABBITMQ_EXCHANGE: str = "taskiq"
    TASKIQ_RABBITMQ_PREFETCH: int | None = Field(None, ge=1)  # unset: the worker concurrency
    # s between AMQP heartbeats: a worker host that vanishes (no socket close) is noticed after
    # about 2 missed beats, and its unacknowledged messages go to another worker
    TASKIQ_RABBITMQ_HEARTBEAT: int = Field(10, ge=1, le=600)

    # delivery: a message a worker took but never acknowledged comes back after this long
    TASKIQ_LEASE_SECONDS: float = Field(60.0, gt=0)
    TASKIQ_MAX_DELIVERIES: int = Field(5, ge=1)  # then it goes to the dead letters
    TASKIQ_RESULT_TTL_SECONDS: int = Field(3600, ge=1)  # results expire
    TASKIQ_CONNECT_TIMEOUT: float = Field(5.0, gt=0)  # fail fast on a broker that is down

    # worker processes (mapped onto taskiq's CLI flags by run_worker.py)
    TASKIQ_WORKER_PROCESSES: int = Field(2, ge=1)  # --workers
    TASKIQ_WORKER_CONCURRENCY: int = Field(2, ge=1)  # --max-async-tasks
    TASKIQ_MAX_TASKS_PER_WORKER: int = Field(1000, ge=0)  # --max-tasks-per-child (0 = never)
    TASKIQ_WAIT_TASKS_TIMEOUT: float = Field(10.0, gt=0)  # --wait-tasks-timeout
    TASKIQ_SHUTDOWN_TIMEOUT: float = Field(5.0, gt=0)  # --shutdown-timeout

    # the scheduler (make scheduler) reads the runtime schedules again every this many s
    TASKIQ_SCHEDULE_REFRESH_SECONDS: int = Field(5, ge=1, le=60)

    # --- local development: the default SECRET_KEY is allowed, the mail catcher is served at
    # /mail and admin pages open without a token, both to this machine's own connections only.
    # The `make` commands and the tests set it; nothing else: a copied starter is safe.
    DEV_MODE: bool = False
    # the token of admin endpoints (/tasks, dead letters, notifications); unset or empty: off
    # (with DEV_MODE, this machine's own connections need none)
    ADMIN_TOKEN: SecretStr | None = None

    # retries (taskiq's SmartRetryMiddleware) for tasks labelled retry_on_error=True
    TASKIQ_RETRY_MAX_TRIES: int = Field(3, ge=1)  # default when a task sets no max_retries
    TASKIQ_RETRY_DELAY: float = Field(1.0, ge=0)  # s before the first retry, then growing
    TASKIQ_RETRY_MAX_DELAY: float = Field(60.0, ge=0)  # the backoff's cap

    # task runs: recorded by a middleware in the app's database, shown at /tasks
    TASKIQ_RUNS_ENABLED: bool = True
    TASKIQ_RUNS_FLUSH_INTERVAL: float = Field(0.5, gt=0, le=60)  # s between batched writes
    TASKIQ_RUNS_MAX_AGE_HOURS: float = Field(168, gt=0)  # older runs are pruned
    TASKIQ_RUNS_MAX_ROWS: int = Field(100_000, ge=100)  # and only the newest are kept

    # --- taskiq-dashboard, an optional extra (pip install '.[dashboard]'): off when unset ---
    TASKIQ_DASHBOARD_URL: str | None = None  # e.g. http://localhost:8001/
    TASKIQ_DASHBOARD_TOKEN: SecretStr | None = None  # its TASKIQ_DASHBOARD__API__TOKEN
    # --8<-- [end:settings]

    @field_validator("TASKIQ_BROKER_TYPE", mode="before")
    @classmethod
    def _lower_broker_type(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    # --- derived values; secrets never end up inside a URL ---
    def redis_url(self) -> str:
        """The Redis URL *without* the password (it is passed separately)."""
        scheme = "rediss" if self.TASKIQ_REDIS_TLS else "redis"
        return (
            f"{scheme}://{self.TASKIQ_REDIS_HOST}:{self.TASKIQ_REDIS_PORT}/{self.TASKIQ_REDIS_DB}"
        )

    def rabbitmq_connection_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``aio_pika.connect_robust`` (no URL, so no secret in one)."""
        return {
            "host": self.TASKIQ_RABBITMQ_HOST,
            "port": self.TASKIQ_RABBITMQ_PORT,
            "login": self.TASKIQ_RABBITMQ_USER,
            "password": self.TASKIQ_RABBITMQ_PASSWORD.get_secret_value(),
            "virtualhost": self.TASKIQ_RABBITMQ_VHOST,
            "ssl": self.TASKIQ_RABBITMQ_TLS,
            "heartbeat": self.TASKIQ_RABBITMQ_HEARTBEAT,
        }

    def broker_location(self) -> str:
        """Where the broker is, for messages: host and port, never a password."""
        if not self.TASKIQ_ENABLED:
            return "in-process (TASKIQ_ENABLED=false)"
        if self.TASKIQ_BROKER_TYPE == "sqlite":
            return f"sqlite file {self.TASKIQ_SQLITE_PATH}"
        if self.TASKIQ_BROKER_TYPE == "redis":
            return f"redis at {self.redis_url()}"
        vhost = quote(self.TASKIQ_RABBITMQ_VHOST, safe="")
        scheme = "amqps" if self.TASKIQ_RABBITMQ_TLS else "amqp"
        return (
            f"rabbitmq at {scheme}://{self.TASKIQ_RABBITMQ_USER}@"
            f"{self.TASKIQ_RABBITMQ_HOST}:{self.TASKIQ_RABBITMQ_PORT}/{vhost}"
        )


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read once from the environment (and ``.env``)."""
    return Settings()
