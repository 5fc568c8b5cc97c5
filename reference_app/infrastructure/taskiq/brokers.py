"""Build ``email_broker`` from the settings: sqlite (default) | redis | rabbitmq | in-process.

The name ``email_broker`` is the seed's: one broker carries every task of the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pydantic import ValidationError
from taskiq import AsyncBroker, InMemoryBroker, SmartRetryMiddleware
from taskiq.serializers import JSONSerializer

from reference_app.infrastructure.config import (
    ConfigurationError,
    Settings,
    describe_validation_error,
    get_settings,
)
from reference_app.infrastructure.taskiq.dashboard import add_dashboard
from reference_app.infrastructure.taskiq.middlewares import JsonArgumentsGuard
from reference_app.infrastructure.taskiq.rabbitmq_broker import build_rabbitmq_broker
from reference_app.infrastructure.taskiq.redis_broker import (
    ReliableRedisStreamBroker,
    SharedClientResultBackend,
)
from reference_app.infrastructure.taskiq.result_backend import DatabaseResultBackend
from reference_app.infrastructure.taskiq.runs import TaskRunRecorder
from reference_app.infrastructure.taskiq.sqlite_broker import SQLiteBroker, SQLiteResultBackend
from reference_app.infrastructure.taskiq.task_ids import new_task_id

logger = logging.getLogger(__name__)


# --8<-- [start:build_broker]
def read_batch(settings: Settings) -> int:
    """Messages a polling broker takes per round trip: up to a worker's concurrency, at most
    50 (a stopping worker hands back what it took and did not start)."""
    return min(settings.TASKIQ_WORKER_CONCURRENCY, 50)


def build_broker(settings: Settings) -> AsyncBroker:
    """A new, not yet started broker for ``settings``."""
    broker: AsyncBroker
    if not settings.TASKIQ_ENABLED:
        # Tasks run inside the calling process: for tests and tiny apps. Nothing survives.
        broker = InMemoryBroker()
    elif settings.TASKIQ_BROKER_TYPE == "sqlite":
        sqlite_broker = SQLiteBroker(
            settings.TASKIQ_SQLITE_PATH,
            queue_name=settings.TASKIQ_QUEUE_NAME,
            poll_interval=settings.TASKIQ_POLL_INTERVAL,
            lease_seconds=settings.TASKIQ_LEASE_SECONDS,
            max_deliveries=settings.TASKIQ_MAX_DELIVERIES,
            claim_batch=read_batch(settings),  # claimed in one statement
        )
        # Results live in the broker's file: each is stored in its message's ack transaction.
        broker = sqlite_broker.with_result_backend(
            SQLiteResultBackend(sqlite_broker, ttl_seconds=settings.TASKIQ_RESULT_TTL_SECONDS)
        )
    elif settings.TASKIQ_BROKER_TYPE == "redis":
        password = settings.TASKIQ_REDIS_PASSWORD
        secret = {"password": password.get_secret_value()} if password else {}
        timeouts = {"socket_connect_timeout": settings.TASKIQ_CONNECT_TIMEOUT}
        redis_broker = ReliableRedisStreamBroker(
            settings.redis_url(),  # host, port and DB number; the password travels apart
            queue_name=settings.TASKIQ_QUEUE_NAME,
            consumer_group_name=settings.TASKIQ_QUEUE_NAME,
            maxlen=settings.TASKIQ_REDIS_STREAM_MAXLEN,  # bounded: refuse, never drop
            poll_interval=settings.TASKIQ_POLL_INTERVAL,
            lease_seconds=settings.TASKIQ_LEASE_SECONDS,
            max_deliveries=settings.TASKIQ_MAX_DELIVERIES,
            xread_count=read_batch(settings),  # read by one XREADGROUP
            **secret,
            **timeouts,
        )
        results = SharedClientResultBackend(
            settings.redis_url(),
            result_ex_time=settings.TASKIQ_RESULT_TTL_SECONDS,  # results expire
            serializer=JSONSerializer(),  # never pickle
            prefix_str=f"{settings.TASKIQ_QUEUE_NAME}:result",
            **secret,
            **timeouts,
        )
        results.broker = redis_broker  # same Redis: a result rides with its message's ack
        broker = redis_broker.with_result_backend(results)
    else:  # rabbitmq
        broker = build_rabbitmq_broker(
            queue_name=settings.TASKIQ_QUEUE_NAME,
            exchange_name=settings.TASKIQ_RABBITMQ_EXCHANGE,
            # Unacknowledged messages pushed ahead to each worker process: by default as many
            # as it runs at once, so no process sits on work another could do.
            prefetch=settings.TASKIQ_RABBITMQ_PREFETCH or settings.TASKIQ_WORKER_CONCURRENCY,
            max_deliveries=settings.TASKIQ_MAX_DELIVERIES,
            connection_kwargs={
                **settings.rabbitmq_connection_kwargs(),
                "timeout": settings.TASKIQ_CONNECT_TIMEOUT,
            },
        ).with_result_backend(
            DatabaseResultBackend(
                settings.DATABASE_URL, ttl_seconds=settings.TASKIQ_RESULT_TTL_SECONDS
            )
        )
    # Task ids that sort by time: the SQLite tables keyed by them stay cheap to write.
    broker.with_id_generator(new_task_id)
    broker.add_middlewares(
        JsonArgumentsGuard(),
        # Only tasks labelled retry_on_error=True are retried: exponential backoff with jitter,
        # capped, then the task fails for good. The delay travels as a `delay` label, which
        # every broker here honours.
        SmartRetryMiddleware(
            default_retry_count=settings.TASKIQ_RETRY_MAX_TRIES,
            default_delay=settings.TASKIQ_RETRY_DELAY,
            use_jitter=True,
            use_delay_exponent=True,
            max_delay_exponent=settings.TASKIQ_RETRY_MAX_DELAY,
        ),
    )
    # --8<-- [start:recorder]
    if settings.TASKIQ_RUNS_ENABLED:
        broker.add_middlewares(
            TaskRunRecorder(
                settings.DATABASE_URL,
                broker_name=settings.TASKIQ_BROKER_TYPE if settings.TASKIQ_ENABLED else "inmemory",
                flush_interval=settings.TASKIQ_RUNS_FLUSH_INTERVAL,
                max_age_seconds=settings.TASKIQ_RUNS_MAX_AGE_HOURS * 3600,
                max_rows=settings.TASKIQ_RUNS_MAX_ROWS,
                default_max_retries=settings.TASKIQ_RETRY_MAX_TRIES,
            )
        )
    # --8<-- [end:recorder]
    add_dashboard(broker, settings)  # taskiq-dashboard, only if TASKIQ_DASHBOARD_URL is set
    return broker


# --8<-- [end:build_broker]


def _settings_to_fix(settings: Settings) -> str:
    if settings.TASKIQ_BROKER_TYPE == "redis":
        return "TASKIQ_REDIS_HOST / TASKIQ_REDIS_PORT / TASKIQ_REDIS_PASSWORD"
    if settings.TASKIQ_BROKER_TYPE == "rabbitmq":
        return (
            "TASKIQ_RABBITMQ_HOST / TASKIQ_RABBITMQ_PORT / TASKIQ_RABBITMQ_USER / "
            "TASKIQ_RABBITMQ_PASSWORD / TASKIQ_RABBITMQ_VHOST"
        )
    return "TASKIQ_SQLITE_PATH"


def describe_broker_error(settings: Settings, exc: BaseException) -> str:
    """One line: what failed, where, and which settings to look at. Never a password."""
    reason = (str(exc) or type(exc).__name__).rstrip(". ")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        reason = f"no answer within {settings.TASKIQ_CONNECT_TIMEOUT:g} s"
    for secret in (settings.TASKIQ_REDIS_PASSWORD, settings.TASKIQ_RABBITMQ_PASSWORD):
        if secret is not None and secret.get_secret_value():
            reason = reason.replace(secret.get_secret_value(), "**********")
    check = f"Check {_settings_to_fix(settings)}"
    if "PRECONDITION_FAILED" in reason:  # the queue exists, declared with other arguments
        check = (
            "The queue exists with other arguments: TASKIQ_MAX_DELIVERIES (x-delivery-limit) "
            "must match what it was created with; delete the queue or keep the old value"
        )
    return (
        f"cannot use the {settings.TASKIQ_BROKER_TYPE} broker ({settings.broker_location()}): "
        f"{type(exc).__name__}: {reason}. {check}, "
        "or set TASKIQ_BROKER_TYPE=sqlite to use the embedded default."
    )


async def start_broker(broker: AsyncBroker, settings: Settings) -> None:
    """``broker.startup()`` that fails within TASKIQ_CONNECT_TIMEOUT with one clear error."""
    try:
        await asyncio.wait_for(broker.startup(), timeout=settings.TASKIQ_CONNECT_TIMEOUT + 1)
    except Exception as exc:
        with contextlib.suppress(Exception):  # the first error is the one to report
            await asyncio.wait_for(broker.shutdown(), timeout=2)
        raise ConfigurationError(describe_broker_error(settings, exc)) from None


async def check_broker(settings: Settings) -> None:
    """Start a throw-away broker and stop it: the preflight of ``make run`` and the worker."""
    broker = build_broker(settings)
    await start_broker(broker, settings)
    await broker.shutdown()


def _load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None


# --8<-- [start:email_broker]
email_broker: AsyncBroker = build_broker(_load_settings())
# --8<-- [end:email_broker]
