"""The hardware floor: the same no-op work with the client libraries alone, no task framework.

    python -m bench.floor redis-worker     # BRPOP loop (redis-py), one process
    python -m bench.floor redis-async-worker  # the same loop on redis-py's asyncio client
    python -m bench.floor amqp-worker      # aio-pika consumer with acks, one process

The producer side (LPUSH; persistent publish with publisher confirms) is called by the
harness. Payloads have the size of a taskiq message for ``bench.noop``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from bench import probe

QUEUE = os.environ.get("BENCH_QUEUE", "bench-floor")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PREFETCH = int(os.environ.get("BENCH_PREFETCH", "100"))


# --8<-- [start:redis_floor]
def redis_worker() -> None:
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    while True:
        item = client.brpop([QUEUE], timeout=1)
        if item is not None:
            probe.hit(time.time())


async def redis_async_worker() -> None:
    """The same loop on ``redis.asyncio``, the client every asyncio task framework uses."""
    from redis.asyncio import Redis

    async with Redis.from_url(REDIS_URL) as client:
        while True:
            item = await client.brpop([QUEUE], timeout=1)
            if item is not None:
                probe.hit(time.time())


def redis_fill(count: int, payload: bytes) -> None:
    from redis import Redis

    with Redis.from_url(REDIS_URL) as client:
        pipe = client.pipeline(transaction=False)
        for n in range(count):
            pipe.lpush(QUEUE, payload)
            if n % 1000 == 999:
                pipe.execute()
        pipe.execute()


# --8<-- [end:redis_floor]


# --8<-- [start:amqp_floor]
async def amqp_declare(channel) -> object:
    return await channel.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})


async def amqp_worker() -> None:
    import aio_pika

    connection = await aio_pika.connect_robust(AMQP_URL)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=PREFETCH)
    queue = await amqp_declare(channel)

    async def on_message(message) -> None:
        probe.hit(time.time())
        await message.ack()

    await queue.consume(on_message)
    await asyncio.Future()


async def amqp_fill(count: int, payload: bytes) -> None:
    import aio_pika

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await amqp_declare(channel)
        for start in range(0, count, 100):  # confirms awaited, 100 in flight
            await asyncio.gather(*(
                channel.default_exchange.publish(
                    aio_pika.Message(payload, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=QUEUE,
                )
                for _ in range(min(100, count - start))
            ))  # fmt: skip


# --8<-- [end:amqp_floor]


if __name__ == "__main__":
    if sys.argv[1] == "redis-worker":
        redis_worker()
    elif sys.argv[1] == "redis-async-worker":
        asyncio.run(redis_async_worker())
    else:
        asyncio.run(amqp_worker())
