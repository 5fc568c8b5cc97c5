"""Our Redis stream broker's own promises: refuse rather than drop, trim only what is done,
reclaim without the lock that taskiq-redis 1.2.4 could leave behind."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from taskiq import BrokerMessage

from reference_app.infrastructure.taskiq.redis_broker import (
    QueueFullError,
    ReliableRedisStreamBroker,
)
from tests.support.brokers import TEST_REDIS_DB, BrokerEnv, cleanup, require_server

pytestmark = pytest.mark.broker
URL = f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"


@pytest.fixture
def queue(tmp_path):
    require_server("redis")
    env = BrokerEnv("redis", tmp_path)
    yield env.queue
    cleanup(env)


def message(n: int) -> BrokerMessage:
    return BrokerMessage(task_id=f"id-{n}", task_name="demo", message=f"m{n}".encode(), labels={})


async def started(queue: str, **kwargs) -> ReliableRedisStreamBroker:
    broker = ReliableRedisStreamBroker(
        URL, queue_name=queue, consumer_group_name=queue, poll_interval=0.01, **kwargs
    )
    broker.is_worker_process = True
    await broker.startup()
    return broker


async def test_a_full_stream_refuses_new_tasks_and_keeps_the_old_ones(queue):
    broker = await started(queue, maxlen=3)
    try:
        for n in range(3):
            await broker.kick(message(n))
        with pytest.raises(QueueFullError, match="TASKIQ_REDIS_STREAM_MAXLEN"):
            await broker.kick(message(3))
        async with Redis.from_url(URL) as redis:
            entries = await redis.xrange(queue)
        assert [fields[b"data"] for _, fields in entries] == [b"m0", b"m1", b"m2"]
    finally:
        await broker.shutdown()


async def test_acknowledged_entries_are_trimmed_and_pending_ones_kept(queue):
    broker = await started(queue, lease_seconds=60)
    try:
        for n in range(6):
            await broker.kick(message(n))
        stream = broker.listen()
        received = [await asyncio.wait_for(anext(stream), 2) for _ in range(6)]
        for item in received[:4]:
            await item.ack()  # m4 and m5 stay pending: still running somewhere
        async with Redis.from_url(URL) as redis:
            await broker._trim_acknowledged(redis)
            left = [fields[b"data"] for _, fields in await redis.xrange(queue)]
        assert left[-2:] == [b"m4", b"m5"]
        assert len(left) < 6
        await stream.aclose()
    finally:
        await broker.shutdown()


async def test_a_dead_workers_message_is_reclaimed_on_an_idle_queue_despite_an_orphaned_lock(
    queue,
):
    dead = await started(queue, lease_seconds=0.5)
    alive = await started(queue, lease_seconds=0.5)
    try:
        await dead.kick(message(1))
        held = await asyncio.wait_for(anext(dead.listen()), 2)  # then the worker "dies"
        for renewal in dead._renewals.values():
            renewal.cancel()  # a dead worker renews nothing
        assert held.data == b"m1"
        async with Redis.from_url(URL) as redis:
            # The lock taskiq-redis 1.2.4 takes around its reclaim, left by a killed worker.
            await redis.set(f"autoclaim:{queue}:{queue}", "orphaned")
        # No new task arrives: the reclaim must come from the timer alone.
        again = await asyncio.wait_for(anext(alive.listen()), 5)
        assert again.data == b"m1"
        await again.ack()
    finally:
        await dead.shutdown()
        await alive.shutdown()


async def test_messages_read_but_not_started_are_handed_back_when_a_worker_stops(queue):
    """A worker reads several messages per round trip; when it stops, the ones it never
    started are reclaimable at once, not after the lease (60 s here)."""
    first = await started(queue, lease_seconds=60, xread_count=5)
    second = None
    try:
        for n in range(5):
            await first.kick(message(n))
        reading = first.listen()
        taken = await anext(reading)
        assert taken.data == b"m0"
        await taken.ack()
        await reading.aclose()  # the worker stops with m1..m4 read, unstarted

        second = await started(queue, lease_seconds=60, xread_count=5)
        others = second.listen()
        got = [await asyncio.wait_for(anext(others), timeout=5) for _ in range(4)]
        assert sorted(message.data for message in got) == [b"m1", b"m2", b"m3", b"m4"]
        await others.aclose()
    finally:
        await first.shutdown()
        if second is not None:
            await second.shutdown()
