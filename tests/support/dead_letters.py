"""Read what each broker moved aside, so tests can assert nothing was silently dropped."""

from __future__ import annotations

from tests.support.brokers import TEST_REDIS_DB, BrokerEnv


async def read_dead_letters(env: BrokerEnv, broker) -> list[tuple[bytes, str]]:
    """(payload, reason) for every dead letter of the queue under test."""
    if env.broker_type == "sqlite":
        return [(d.payload, d.reason) for d in await broker.dead_letters()]
    if env.broker_type == "redis":
        from redis.asyncio import Redis

        async with Redis(host="127.0.0.1", port=6379, db=TEST_REDIS_DB) as redis:
            entries = await redis.xrange(f"{env.queue}:dead-letters")
        return [(fields[b"data"], fields[b"reason"].decode()) for _, fields in entries]
    import aio_pika

    letters = []
    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{env.queue}.dead_letter")
        while (message := await queue.get(fail=False)) is not None:
            await message.ack()
            letters.append((message.body, str(message.headers.get("x-taskiq-reason", ""))))
    return letters
