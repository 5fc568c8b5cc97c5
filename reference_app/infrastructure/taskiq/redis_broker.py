"""taskiq-redis's stream broker, with the three gaps we measured closed.

taskiq-redis 1.2.4's ``RedisStreamBroker.listen``:

1. loops on an empty ``XREADGROUP`` without yielding a message, so an idle worker can take
   long to notice SIGTERM;
2. reclaims a dead worker's unacknowledged messages (``XAUTOCLAIM``) only after a non-empty
   read, so they wait until *new* work arrives;
3. takes a Redis lock with no timeout around that reclaim, so a worker killed while holding it
   blocks every other worker's reclaim.

Ours reclaims on a timer whether or not new work arrives, uses no lock (``XAUTOCLAIM`` is
atomic: two workers never get the same pending message), reads one message per slot (so a
stopping worker holds nothing it has not started), and moves a message that keeps coming back
to a dead-letter stream.

It also never *blocks* in ``XREADGROUP``: it polls, sleeping ``poll_interval`` when the stream
is empty. We measured why: when taskiq stops a worker it cancels the pending read; with
redis-py 8.1 a cancelled blocking ``XREADGROUP`` could swallow the cancellation and start a
new read on a connection left out of step, so the worker hung for as long as we watched
(20 s and more) after SIGTERM. A cancellation now lands in ``asyncio.sleep`` nearly always, and
the loop checks for a swallowed one before every command.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

from redis.asyncio import Redis
from taskiq import AckableMessage
from taskiq_redis import RedisStreamBroker

logger = logging.getLogger(__name__)


def _raise_if_cancelling() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class ReliableRedisStreamBroker(RedisStreamBroker):
    """``RedisStreamBroker`` with timed reclaim, no reclaim lock, and dead letters."""

    def __init__(
        self,
        url: str,
        *,
        lease_seconds: float = 60.0,
        max_deliveries: int = 5,
        poll_interval: float = 0.02,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("xread_count", 1)
        super().__init__(url, idle_timeout=int(lease_seconds * 1000), **kwargs)
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.max_deliveries = max_deliveries
        # Look for abandoned messages several times per lease, and at least every 5 s.
        self.reclaim_interval = min(max(lease_seconds / 4, 0.2), 5.0)

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.queue_name}:dead-letters"

    def _message(self, stream: Any, msg_id: Any, fields: dict[bytes, bytes]) -> AckableMessage:
        return AckableMessage(
            data=fields[b"data"],
            ack=self._ack_generator(id=msg_id, queue_name=stream),
        )

    # --8<-- [start:listen]
    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            next_reclaim = 0.0
            while True:
                _raise_if_cancelling()
                if time.monotonic() >= next_reclaim:
                    next_reclaim = time.monotonic() + self.reclaim_interval
                    for message in await self._reclaim(redis):
                        yield message
                    _raise_if_cancelling()
                fetched = await redis.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">"},
                    count=self.count,
                    noack=False,
                )
                if not fetched:
                    await asyncio.sleep(self.poll_interval)
                    continue
                for stream, entries in fetched:
                    for msg_id, fields in entries:
                        yield self._message(stream, msg_id, fields)

    # --8<-- [end:listen]

    async def _reclaim(self, redis: Redis) -> list[AckableMessage]:
        """Take over messages whose consumer has held them longer than the lease."""
        _cursor, entries, *deleted = await redis.xautoclaim(
            self.queue_name,
            self.consumer_group_name,
            self.consumer_name,
            min_idle_time=self.idle_timeout,
            count=self.unacknowledged_batch_size,
        )
        if deleted and deleted[0]:
            # Entries trimmed away while pending: nothing left to run, just clear them.
            await redis.xack(self.queue_name, self.consumer_group_name, *deleted[0])
        messages = []
        for msg_id, fields in entries:
            if fields is None:
                continue
            pending = await redis.xpending_range(
                self.queue_name, self.consumer_group_name, min=msg_id, max=msg_id, count=1
            )
            deliveries = pending[0]["times_delivered"] if pending else 1
            if deliveries > self.max_deliveries:
                await self._store_dead_letter(
                    redis,
                    fields[b"data"],
                    f"delivered {deliveries - 1} times without an acknowledgement "
                    f"(max_deliveries={self.max_deliveries})",
                )
                await redis.xack(self.queue_name, self.consumer_group_name, msg_id)
                continue
            logger.warning("Reclaimed message %s (delivery %d).", msg_id, deliveries)
            messages.append(self._message(self.queue_name, msg_id, fields))
        return messages

    async def _store_dead_letter(self, redis: Redis, data: bytes, reason: str) -> None:
        await redis.xadd(
            self.dead_letter_stream,
            {b"data": data, b"reason": reason.encode()},
            maxlen=self.maxlen,
            approximate=True,
        )
        logger.error("Message moved to %s: %s", self.dead_letter_stream, reason)

    async def dead_letter(self, data: bytes, reason: str) -> None:
        """Store a message that cannot be run (called by our receiver for poison messages)."""
        async with Redis(connection_pool=self.connection_pool) as redis:
            await self._store_dead_letter(redis, data, reason)

    async def ping(self) -> None:
        async with Redis(connection_pool=self.connection_pool) as redis:
            await redis.ping()
