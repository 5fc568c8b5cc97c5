"""Our Redis stream broker's own promises: refuse rather than drop, trim only what is done,
reclaim without the lock that taskiq-redis 1.2.4 could leave behind."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from taskiq import BrokerMessage, TaskiqResult
from taskiq.serializers import JSONSerializer

from taskiq_extras.redis_broker import (
    BrokerFullError,
    ReliableRedisStreamBroker,
    SharedClientResultBackend,
)
from tests.support.brokers import TEST_REDIS_DB, BrokerEnv, cleanup, require_server
from tests.support.outbox import record_outbox_writes

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
        with pytest.raises(BrokerFullError, match="TASKIQ_REDIS_STREAM_MAXLEN"):
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
        dead._renewer.cancel()  # a dead worker renews nothing
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


def ok_result(value: int) -> TaskiqResult:
    return TaskiqResult(is_err=False, return_value=value, execution_time=0.01)


async def with_results(queue: str, **kwargs) -> tuple[ReliableRedisStreamBroker, list]:
    """Our broker with its result backend wired as ``build_broker`` wires it; every write
    (one pipeline or one XACK) is recorded in the returned list."""
    broker = await started(queue, **kwargs)
    results = SharedClientResultBackend(URL, serializer=JSONSerializer(), prefix_str=queue)
    broker.with_result_backend(results)
    return broker, record_outbox_writes(broker)


async def test_a_result_is_readable_as_soon_as_set_result_returns(queue):
    broker, writes = await with_results(queue)
    try:
        await broker.kick(message(1))
        reading = broker.listen()
        taken = await anext(reading)
        await broker.result_backend.set_result("id-1", ok_result(41))
        assert (await broker.result_backend.get_result("id-1")).return_value == 41
        async with Redis.from_url(URL) as redis:
            assert (await redis.xpending(queue, queue))["pending"] == 1  # not acked yet
            await taken.ack()
            assert (await redis.xpending(queue, queue))["pending"] == 0
        assert writes == [["set"], ["xack"]]
        await reading.aclose()
    finally:
        await broker.shutdown()


async def test_acks_that_arrive_together_share_one_xack_and_a_lone_result_is_still_stored(queue):
    broker, writes = await with_results(queue, xread_count=10)
    try:
        for n in range(10):
            await broker.kick(message(n))
        reading = broker.listen()
        taken = [await anext(reading) for _ in range(10)]
        await asyncio.gather(*(m.ack() for m in taken))
        assert writes == [["xack"] * 10]  # ten acks, one round trip
        # A result with no ack after it (e.g. stored after an early ack) goes out on its own.
        await broker.result_backend.set_result("id-lone", ok_result(7))
        assert (await broker.result_backend.get_result("id-lone")).return_value == 7
        await reading.aclose()
    finally:
        await broker.shutdown()
