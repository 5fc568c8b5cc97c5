"""The taskiq side of the benchmark: one broker per case, the same no-op tasks on each.

Which broker is chosen by ``BENCH_CASE`` (set by the harness, read only here):

* ``ours``: ``email_broker`` exactly as the reference app builds it from its settings
  (``build_broker``: JSON guard, retry middleware, run recorder, our broker class). The
  worker is started with ``python -m reference_app.infrastructure.taskiq.run_worker bench.apps``,
  the way a reader starts it.
* ``ours-bare`` / ``ours-runs``: our Redis stream broker with no middleware, then with the
  run recorder only, to price each layer (the DB-session layer is the ``noop_db`` task).
* ``listqueue``, ``stream``, ``aiopika``, ``aiopika-classic``: taskiq-redis and
  taskiq-aio-pika with their defaults, only the queue names are ours.
* ``memory-list`` (``bench.layers`` only): messages handed out from a Python list, an ack that
  does nothing: taskiq's worker loop with no broker I/O at all.

``BENCH_BATCH`` (ours only) prototypes reading/claiming several messages per round trip.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import AsyncGenerator

from taskiq import AckableMessage, AsyncBroker, BrokerMessage, TaskiqDepends

from bench import probe
from reference_app.infrastructure.taskiq.deps import get_db_session

CASE = os.environ.get("BENCH_CASE", "ours")
QUEUE = os.environ.get("BENCH_QUEUE", "bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _aio_pika(classic: bool) -> AsyncBroker:
    from taskiq_aio_pika import AioPikaBroker, Exchange, Queue, QueueType

    kind = QueueType.CLASSIC if classic else QueueType.QUORUM
    return AioPikaBroker(
        AMQP_URL,
        exchange=Exchange(name=f"{QUEUE}.exchange"),
        task_queues=[Queue(name=QUEUE, type=kind)],
        dead_letter_queue=Queue(name=f"{QUEUE}.dead_letter"),
        delay_queue=Queue(name=f"{QUEUE}.delay", type=QueueType.CLASSIC),
    )


def _redis_ours(with_runs: bool) -> AsyncBroker:
    from reference_app.infrastructure.config import get_settings
    from reference_app.infrastructure.taskiq.brokers import read_batch
    from taskiq_extras.redis_broker import ReliableRedisStreamBroker

    broker = ReliableRedisStreamBroker(  # reads as many per XREADGROUP as build_broker's
        REDIS_URL, queue_name=QUEUE, consumer_group_name=QUEUE,
        xread_count=read_batch(get_settings()),
    )  # fmt: skip
    if with_runs:
        from taskiq_extras.runs import TaskRunRecorder

        broker.add_middlewares(TaskRunRecorder(get_settings().DATABASE_URL, broker_name="redis"))
    return broker


# --8<-- [start:memory_list]
class MemoryListBroker(AsyncBroker):
    """Producer and worker in one process; no I/O: what taskiq's own loop costs per task."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: collections.deque[bytes] = collections.deque()

    async def kick(self, message: BrokerMessage) -> None:
        self.messages.append(message.message)

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        while True:
            if not self.messages:
                await asyncio.sleep(0.02)
                continue
            yield AckableMessage(data=self.messages.popleft(), ack=_no_ack)


async def _no_ack() -> None:
    return None


# --8<-- [end:memory_list]


def build() -> AsyncBroker:
    if CASE == "ours":
        from reference_app.infrastructure.taskiq.brokers import email_broker

        return email_broker
    if CASE in ("ours-bare", "ours-runs"):
        return _redis_ours(with_runs=CASE == "ours-runs")
    if CASE == "listqueue":
        from taskiq_redis import ListQueueBroker

        return ListQueueBroker(REDIS_URL, queue_name=QUEUE)
    if CASE == "stream":
        from taskiq_redis import RedisStreamBroker

        return RedisStreamBroker(REDIS_URL, queue_name=QUEUE, consumer_group_name=QUEUE)
    if CASE in ("aiopika", "aiopika-classic"):
        return _aio_pika(classic=CASE == "aiopika-classic")
    if CASE == "memory-list":
        return MemoryListBroker()
    if CASE == "inmemory":
        from taskiq import InMemoryBroker

        return InMemoryBroker()
    raise ValueError(f"unknown BENCH_CASE {CASE!r}")


broker = build()

# Prototypes, never in the app. BENCH_NO_RESULTS: store no task results (what a no-op task
# pays for its result); BENCH_BATCH: take up to that many messages per round trip.
if os.environ.get("BENCH_NO_RESULTS"):
    from taskiq.result_backends.dummy import DummyResultBackend

    broker.result_backend = DummyResultBackend()
_batch = int(os.environ.get("BENCH_BATCH", "0") or 0)
if _batch:
    if hasattr(broker, "claim_batch"):  # SQLiteBroker: one UPDATE ... RETURNING per batch
        broker.claim_batch = _batch
    elif hasattr(broker, "count"):  # RedisStreamBroker: XREADGROUP COUNT
        broker.count = _batch


# --8<-- [start:tasks]
@broker.task(task_name="bench.noop")
async def noop() -> None:
    probe.hit(time.time())


@broker.task(task_name="bench.noop_db")
async def noop_db(session=TaskiqDepends(get_db_session)) -> None:
    # The session is injected and never used: does that alone cost a connection?
    probe.hit(time.time())


@broker.task(task_name="bench.latency")
async def latency(enqueued_at: float, rate: float) -> None:
    probe.hit_latency(enqueued_at, rate)


# --8<-- [end:tasks]
