"""Core (stock taskiq): build ``email_broker`` from the settings: sqlite | redis | rabbitmq.

The name ``email_broker`` comes from FastroAI's "Background Tasks" page, where all tasks
were email tasks: here it is simply *the* broker object that carries every task of the app.

Each broker's package is imported only when it is the one chosen, so a project on the
embedded SQLite broker installs neither ``redis`` nor ``aio-pika``. With
``TASKIQ_EXTRAS=true`` (the default) the lines marked ``# extras:`` swap in our hardened
pieces from ``taskiq_extras``; with ``false`` Redis and RabbitMQ run stock taskiq-redis and
taskiq-aio-pika. The docs page "Beyond stock Taskiq" says what each swap changes, and why.
"""

from __future__ import annotations

import asyncio
import contextlib

from pydantic import ValidationError
from taskiq import AsyncBroker, InMemoryBroker, ScheduleSource, SmartRetryMiddleware
from taskiq.serializers import JSONSerializer

from ..config import ConfigurationError, Settings, describe_validation_error, get_settings


def read_batch(settings: Settings) -> int:
    """Messages a worker takes per round trip: up to its concurrency, at most 50."""
    return min(settings.TASKIQ_WORKER_CONCURRENCY, 50)


# --8<-- [start:sqlite]
def _sqlite_broker(settings: Settings) -> AsyncBroker:
    # The embedded broker has no stock equivalent: it is in the extras either way.
    from taskiq_extras.sqlite_broker import SQLiteBroker, SQLiteResultBackend

    broker = SQLiteBroker(
        settings.TASKIQ_SQLITE_PATH,
        queue_name=settings.TASKIQ_QUEUE_NAME,
        poll_interval=settings.TASKIQ_POLL_INTERVAL,
        lease_seconds=settings.TASKIQ_LEASE_SECONDS,
        max_deliveries=settings.TASKIQ_MAX_DELIVERIES,
        claim_batch=read_batch(settings),
    )
    results = SQLiteResultBackend(broker, ttl_seconds=settings.TASKIQ_RESULT_TTL_SECONDS)
    return broker.with_result_backend(results)  # results live in the broker's file


# --8<-- [end:sqlite]


# --8<-- [start:redis]
def _redis_broker(settings: Settings) -> AsyncBroker:
    from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

    password = settings.TASKIQ_REDIS_PASSWORD
    connection = {"socket_connect_timeout": settings.TASKIQ_CONNECT_TIMEOUT}
    if password is not None:  # passed apart from the URL, so no URL ever holds it
        connection["password"] = password.get_secret_value()
    options = {
        "queue_name": settings.TASKIQ_QUEUE_NAME,
        "consumer_group_name": settings.TASKIQ_QUEUE_NAME,
        # A message a worker took and never acknowledged is given to another after this.
        "idle_timeout": int(settings.TASKIQ_LEASE_SECONDS * 1000),
        "xread_count": read_batch(settings),
        # A consumer group made again (after a Redis restart) starts at the stream's first
        # entry, not at `$`: entries added before it existed are read, not skipped.
        "consumer_id": "0",
    }
    if settings.TASKIQ_EXTRAS:  # extras: bounded stream, dead letters, faster reclaim
        from taskiq_extras.redis_broker import ReliableRedisStreamBroker as RedisStreamBroker
        from taskiq_extras.redis_broker import SharedClientResultBackend as RedisAsyncResultBackend

        options |= {
            "maxlen": settings.TASKIQ_REDIS_STREAM_MAXLEN,  # refuses new work when full
            "lease_seconds": settings.TASKIQ_LEASE_SECONDS,
            "max_deliveries": settings.TASKIQ_MAX_DELIVERIES,
            "poll_interval": settings.TASKIQ_POLL_INTERVAL,
        }
        options.pop("idle_timeout")  # derived from lease_seconds
    broker = RedisStreamBroker(settings.redis_url(), **options, **connection)
    results = RedisAsyncResultBackend(
        settings.redis_url(),
        result_ex_time=settings.TASKIQ_RESULT_TTL_SECONDS,  # results expire
        serializer=JSONSerializer(),  # never pickle
        prefix_str=f"{settings.TASKIQ_QUEUE_NAME}:result",
        **connection,
    )
    return broker.with_result_backend(results)


# --8<-- [end:redis]


# --8<-- [start:rabbitmq]
def _rabbitmq_broker(settings: Settings) -> AsyncBroker:
    from taskiq_aio_pika import AioPikaBroker, Exchange, Queue, QueueType

    queue = settings.TASKIQ_QUEUE_NAME
    options = {
        "exchange": Exchange(name=settings.TASKIQ_RABBITMQ_EXCHANGE),
        # A quorum queue counts deliveries: a message that keeps killing its worker is
        # dead-lettered after TASKIQ_MAX_DELIVERIES instead of looping.
        "task_queues": [
            Queue(name=queue, arguments={"x-delivery-limit": settings.TASKIQ_MAX_DELIVERIES})
        ],
        "dead_letter_queue": Queue(name=f"{queue}.dead_letter"),
        # `delay` labels (retries with backoff) wait here, then expire into the task queue.
        "delay_queue": Queue(name=f"{queue}.delay", type=QueueType.CLASSIC),
        # Messages pushed ahead to each worker process: by default what it runs at once.
        "qos": settings.TASKIQ_RABBITMQ_PREFETCH or settings.TASKIQ_WORKER_CONCURRENCY,
        **settings.rabbitmq_connection_kwargs(),
        "timeout": settings.TASKIQ_CONNECT_TIMEOUT,
    }
    if settings.TASKIQ_EXTRAS:  # extras: dead letters readable and replayable from the app
        from taskiq_extras.rabbitmq_broker import DeadLetteringAioPikaBroker as AioPikaBroker

        options["dead_letter_queue_name"] = f"{queue}.dead_letter"
    # taskiq-aio-pika keeps no results: they go to the app's database (an extras backend).
    from taskiq_extras.result_backend import DatabaseResultBackend

    results = DatabaseResultBackend(
        settings.DATABASE_URL, ttl_seconds=settings.TASKIQ_RESULT_TTL_SECONDS
    )
    return AioPikaBroker(**options).with_result_backend(results)


# --8<-- [end:rabbitmq]


# --8<-- [start:build_broker]
def build_broker(settings: Settings) -> AsyncBroker:
    """A new, not yet started broker for ``settings``."""
    broker: AsyncBroker
    if not settings.TASKIQ_ENABLED:
        broker = InMemoryBroker()  # tasks run inside the calling process; nothing survives
    elif settings.TASKIQ_BROKER_TYPE == "sqlite":
        broker = _sqlite_broker(settings)
    elif settings.TASKIQ_BROKER_TYPE == "redis":
        broker = _redis_broker(settings)
    else:
        broker = _rabbitmq_broker(settings)
    # Tasks labelled retry_on_error=True are retried with exponential backoff and jitter.
    broker.add_middlewares(
        SmartRetryMiddleware(
            default_retry_count=settings.TASKIQ_RETRY_MAX_TRIES,
            default_delay=settings.TASKIQ_RETRY_DELAY,
            use_jitter=True,
            use_delay_exponent=True,
            max_delay_exponent=settings.TASKIQ_RETRY_MAX_DELAY,
        )
    )
    if settings.TASKIQ_EXTRAS:  # extras: JSON check at .kiq(), time-ordered ids, run records
        from taskiq_extras.setup import add_extras

        try:
            add_extras(broker, settings)
        except ValueError as exc:  # e.g. the dashboard asked for but not installed
            raise ConfigurationError(str(exc)) from None
    return broker


# --8<-- [end:build_broker]


# --8<-- [start:schedule_source]
def build_schedule_source(settings: Settings) -> ScheduleSource:
    """Where runtime schedules live (``add_schedule`` from the API, read by the scheduler)."""
    if settings.TASKIQ_BROKER_TYPE == "redis":
        from taskiq_redis import ListRedisScheduleSource

        if settings.TASKIQ_EXTRAS:  # extras: the same source, able to list every schedule
            from taskiq_extras.redis_schedules import (
                ListingRedisScheduleSource as ListRedisScheduleSource,
            )
        password = settings.TASKIQ_REDIS_PASSWORD
        return ListRedisScheduleSource(
            settings.redis_url(),
            prefix=f"{settings.TASKIQ_QUEUE_NAME}:schedule",
            serializer=JSONSerializer(),  # never pickle (taskiq-redis's default)
            **({"password": password.get_secret_value()} if password else {}),
        )
    # taskiq has no schedule source on a SQL database: ours keeps them in the app's database.
    from taskiq_extras.scheduling import DatabaseScheduleSource

    return DatabaseScheduleSource(settings.DATABASE_URL, queue=settings.TASKIQ_QUEUE_NAME)


# --8<-- [end:schedule_source]


def describe_broker_error(settings: Settings, exc: BaseException) -> str:
    """One line: what failed, where, and which settings to look at. Never a password."""
    reason = (str(exc) or type(exc).__name__).rstrip(". ")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        reason = f"no answer within {settings.TASKIQ_CONNECT_TIMEOUT:g} s"
    for secret in (settings.TASKIQ_REDIS_PASSWORD, settings.TASKIQ_RABBITMQ_PASSWORD):
        if secret is not None and secret.get_secret_value():
            reason = reason.replace(secret.get_secret_value(), "**********")
    names = {
        "redis": "HOST / PORT / PASSWORD",
        "rabbitmq": "HOST / PORT / USER / PASSWORD / VHOST",
    }.get(settings.TASKIQ_BROKER_TYPE)
    prefix = f"TASKIQ_{settings.TASKIQ_BROKER_TYPE.upper()}_"
    check = f"Check {prefix}{names.replace(' / ', ' / ' + prefix)}" if names else ""
    check = check or "Check TASKIQ_SQLITE_PATH"
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


def load_settings() -> Settings:
    """The settings, or one ConfigurationError line naming the variable to fix."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None


# --8<-- [start:email_broker]
email_broker: AsyncBroker = build_broker(load_settings())
# --8<-- [end:email_broker]
# --8<-- [start:slow_broker]
# "You can create additional brokers if needed": a second broker object, on a queue of its
# own (<TASKIQ_QUEUE_NAME>.slow), for the tasks that take long. Off: the same object.
slow_broker: AsyncBroker = email_broker
if load_settings().TASKIQ_SLOW_QUEUE:
    slow_queue = f"{load_settings().TASKIQ_QUEUE_NAME}.slow"
    slow_broker = build_broker(load_settings().model_copy(update={"TASKIQ_QUEUE_NAME": slow_queue}))
# --8<-- [end:slow_broker]
BROKERS = {"default": email_broker, "slow": slow_broker}  # what `make worker QUEUE=...` takes
schedule_source: ScheduleSource = build_schedule_source(load_settings())


def app_brokers() -> list[AsyncBroker]:
    """Each broker object once (one, unless TASKIQ_SLOW_QUEUE is on)."""
    return list({id(broker): broker for broker in BROKERS.values()}.values())


async def start_brokers(settings: Settings) -> None:
    """Start the client side of the brokers this process does not consume as a worker."""
    started = []
    try:
        for broker in (b for b in app_brokers() if not b.is_worker_process):
            await start_broker(broker, settings)
            started.append(broker)
    except BaseException:
        for broker in started:  # all or none: a retry starts them all again
            await broker.shutdown()
        raise
