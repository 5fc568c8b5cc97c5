"""The embedded SQLite broker on its own: durable, leased, at-least-once, nothing dropped."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from taskiq import BrokerMessage, TaskiqResult

from taskiq_extras.result_backend import ResultNotFoundError
from taskiq_extras.sqlite_broker import (
    CLAIM,
    BrokerFullError,
    SQLiteBroker,
    SQLiteResultBackend,
)
from tests.support.outbox import record_outbox_writes

PLAN_PARAMS = {"lease_until": 1.0, "consumer": "c", "queue": "taskiq", "now": 0.0, "batch": 50}


def message(n: int) -> BrokerMessage:
    return BrokerMessage(task_id=f"id-{n}", task_name="demo", message=f"m{n}".encode(), labels={})


@pytest.fixture
async def open_broker(tmp_path):
    brokers: list[SQLiteBroker] = []

    async def open_(**kwargs) -> SQLiteBroker:
        broker = SQLiteBroker(tmp_path / "queue.db", poll_interval=0.01, **kwargs)
        await broker.startup()
        brokers.append(broker)
        return broker

    yield open_
    for broker in brokers:
        await broker.shutdown()


async def die(broker: SQLiteBroker) -> None:
    """What SIGKILL does to a worker: it stops renewing and acknowledges nothing."""
    await broker.shutdown()


async def next_message(broker: SQLiteBroker, timeout: float = 2.0):
    return await asyncio.wait_for(anext(broker.listen()), timeout)


async def test_a_message_is_delivered_then_removed_by_its_ack(open_broker):
    producer = await open_broker()
    consumer = await open_broker()
    await producer.kick(message(1))
    received = await next_message(consumer)
    assert received.data == b"m1"
    assert await consumer.pending() == 1
    await received.ack()
    assert await consumer.pending() == 0


async def test_messages_survive_a_restart(tmp_path):
    broker = SQLiteBroker(tmp_path / "queue.db")
    await broker.startup()
    await broker.kick(message(1))
    await broker.shutdown()

    reopened = SQLiteBroker(tmp_path / "queue.db", poll_interval=0.01)
    await reopened.startup()
    try:
        assert (await next_message(reopened)).data == b"m1"
    finally:
        await reopened.shutdown()


async def test_a_live_lease_keeps_other_workers_away_until_it_expires(open_broker):
    first = await open_broker(lease_seconds=0.5)
    second = await open_broker(lease_seconds=0.5)
    await first.kick(message(1))
    held = await next_message(first)
    assert held.data == b"m1"
    await die(first)

    with pytest.raises(TimeoutError):
        await next_message(second, timeout=0.3)  # lease still live
    redelivered = await next_message(second, timeout=2.0)  # lease expired
    assert redelivered.data == b"m1"
    await redelivered.ack()
    assert await second.pending() == 0


async def test_claimed_but_unstarted_messages_are_handed_back_on_close(open_broker):
    first = await open_broker(claim_batch=3, lease_seconds=60)
    second = await open_broker(lease_seconds=60)
    for n in range(3):
        await first.kick(message(n))
    stream = first.listen()
    started = await asyncio.wait_for(anext(stream), 2)  # claims all three, hands out one
    assert started.data == b"m0"
    await stream.aclose()  # the worker stops: m1 and m2 go back at once, not after 60 s

    received = [await next_message(second, timeout=1.0) for _ in range(2)]
    assert sorted(m.data for m in received) == [b"m1", b"m2"]


async def test_a_message_that_keeps_coming_back_goes_to_dead_letters(open_broker):
    for attempt in range(2):  # two deliveries, each to a worker that dies with it
        broker = await open_broker(lease_seconds=0.05, max_deliveries=2)
        if attempt == 0:
            await broker.kick(message(7))
        assert (await next_message(broker)).data == b"m7"
        await die(broker)
    broker = await open_broker(lease_seconds=0.05, max_deliveries=2)
    with pytest.raises(TimeoutError):
        await next_message(broker, timeout=0.3)
    (dead,) = await broker.dead_letters()
    assert dead.payload == b"m7"
    assert dead.task_id == "id-7"
    assert "max_deliveries=2" in dead.reason
    assert await broker.pending() == 0


async def test_using_a_broker_that_was_not_started_says_what_to_do(tmp_path):
    broker = SQLiteBroker(tmp_path / "queue.db")
    with pytest.raises(RuntimeError, match=r"await broker.startup\(\)"):
        await broker.kick(message(1))


async def test_two_consumers_racing_never_get_the_same_message(open_broker):
    producer = await open_broker()
    consumers = [await open_broker(lease_seconds=60) for _ in range(4)]
    for n in range(200):
        await producer.kick(message(n))

    async def drain(broker: SQLiteBroker) -> list[bytes]:
        got = []
        stream = broker.listen()
        while True:
            try:
                item = await asyncio.wait_for(anext(stream), 0.3)
            except TimeoutError:
                return got
            got.append(item.data)
            await item.ack()

    results = await asyncio.gather(*(drain(c) for c in consumers))
    everything = [data for got in results for data in got]
    assert len(everything) == 200
    assert len(set(everything)) == 200


async def test_a_running_task_keeps_its_lease_however_long_it_runs(open_broker):
    first = await open_broker(lease_seconds=0.3)
    second = await open_broker(lease_seconds=0.3)
    await first.kick(message(1))
    running = await next_message(first)  # renewed every 0.1 s while "running"

    with pytest.raises(TimeoutError):  # three leases long: still nobody else's
        await next_message(second, timeout=1.0)
    await running.ack()
    assert await first.pending() == 0


async def test_a_full_file_refuses_with_a_clear_error_and_keeps_what_it_had(open_broker):
    broker = await open_broker()
    for n in range(3):
        await broker.kick(message(n))
    pages = (await (await broker.db.execute("PRAGMA page_count")).fetchone())[0]
    # As if the disk were full: the limit is per connection, so on both of the broker's (the
    # one it writes messages with, and the one it reads and keeps leases with).
    broker._writer.connection.execute(f"PRAGMA max_page_count = {pages}")
    await broker.db.execute(f"PRAGMA max_page_count = {pages}")
    big = BrokerMessage(task_id="big", task_name="demo", message=b"x" * 200_000, labels={})
    with pytest.raises(BrokerFullError, match=r"is full .* the task was not enqueued"):
        await broker.kick(big)
    assert await broker.pending() == 3  # nothing lost, nothing half-written
    assert [(await next_message(broker)).data for _ in range(3)] == [b"m0", b"m1", b"m2"]


async def test_a_long_reader_does_not_block_and_a_long_writer_only_delays(open_broker, tmp_path):
    import sqlite3
    import threading

    broker = await open_broker()
    await broker.kick(message(0))
    reader = sqlite3.connect(tmp_path / "queue.db", check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM taskiq_messages").fetchall()  # holds a read snapshot
    await broker.kick(message(1))  # WAL: readers never block the writer
    assert (await next_message(broker)).data == b"m0"
    reader.rollback()

    writer = sqlite3.connect(tmp_path / "queue.db", check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock...
    release = threading.Timer(0.5, writer.rollback)  # ...for half a second
    release.start()
    await broker.kick(message(2))  # waits (busy timeout) instead of failing
    release.join()
    assert await broker.pending() == 3
    reader.close()
    writer.close()


async def test_many_brokers_starting_at_once_on_a_new_file_all_start(tmp_path):
    """Worker processes start together on a fresh file and race to switch it to WAL."""
    brokers = [SQLiteBroker(tmp_path / "fresh.db") for _ in range(8)]
    try:
        await asyncio.gather(*(broker.startup() for broker in brokers))
        mode = await (await brokers[0].db.execute("PRAGMA journal_mode")).fetchone()
        assert mode[0] == "wal"
    finally:
        for broker in brokers:
            await broker.shutdown()


def ok_result(value: int) -> TaskiqResult:
    return TaskiqResult(is_err=False, return_value=value, execution_time=0.01)


async def with_results(open_broker, **kwargs) -> tuple[SQLiteBroker, list[list[str]]]:
    """A broker with its result backend wired as ``build_broker`` wires it; each write of
    its outbox (one transaction, or one DELETE) is recorded in the returned list."""
    broker = await open_broker(**kwargs)
    broker.result_backend = SQLiteResultBackend(broker, ttl_seconds=60)
    return broker, record_outbox_writes(broker)


async def test_a_result_and_its_ack_are_one_commit_readable_when_set_result_returns(
    open_broker,
):
    worker, writes = await with_results(open_broker)
    web = await open_broker()  # another process's view of the file, e.g. the API's
    web_results = SQLiteResultBackend(web)
    await web.kick(message(1))
    taken = await next_message(worker)
    # What taskiq does: store the result, then ack.
    await worker.result_backend.set_result("id-1", ok_result(41))
    assert (await web_results.get_result("id-1")).return_value == 41  # readable at once
    assert await web.pending() == 0  # and its message went with it, in the same commit
    await taken.ack()  # nothing left to do
    assert writes == [["result", "ack"]]


async def test_a_result_that_cannot_be_stored_leaves_its_message_in_the_queue(open_broker):
    worker, _ = await with_results(open_broker, lease_seconds=60)
    await worker.kick(message(1))
    refuse = (
        "CREATE TRIGGER refuse BEFORE INSERT ON taskiq_results "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    )
    await worker.db.execute(refuse)
    taken = await next_message(worker)
    with pytest.raises(sqlite3.IntegrityError, match="refused by the test"):
        await worker.result_backend.set_result("id-1", ok_result(41))
    assert await worker.pending() == 1  # not acknowledged: our receiver gives it back
    await worker.db.execute("DROP TRIGGER refuse")
    await taken.nack()  # what our receiver does when storing the result fails
    again = await next_message(worker)
    await worker.result_backend.set_result("id-1", ok_result(42))
    await again.ack()
    assert (await worker.result_backend.get_result("id-1")).return_value == 42
    assert await worker.pending() == 0


async def test_acks_that_arrive_together_share_one_delete_and_a_lone_result_is_stored(
    open_broker,
):
    worker, writes = await with_results(open_broker, claim_batch=10)
    for n in range(10):
        await worker.kick(message(n))
    stream = worker.listen()
    taken = [await asyncio.wait_for(anext(stream), 2) for _ in range(10)]
    await asyncio.gather(*(m.ack() for m in taken))
    assert writes == [["ack"] * 10]
    assert await worker.pending() == 0
    # A result with no ack after it (stored after an early ack, or the error of a message
    # our receiver refused) is written on its own.
    await worker.result_backend.set_result("id-lone", ok_result(7))
    assert (await worker.result_backend.get_result("id-lone")).return_value == 7
    await stream.aclose()


async def test_an_expired_result_is_gone_with_a_clear_error(open_broker):
    worker = await open_broker()
    worker.result_backend = SQLiteResultBackend(worker, ttl_seconds=-1)  # expired on arrival
    await worker.result_backend.set_result("id-old", ok_result(1))
    await worker._outbox.flush()
    with pytest.raises(ResultNotFoundError, match="not finished, or expired"):
        await worker.result_backend.get_result("id-old")
    # Pruned by the next write that stores results (the first of each hundred prunes).
    worker._result_writes = 100
    await worker.result_backend.set_result("id-new", ok_result(2))
    rows = await (await worker.db.execute("SELECT task_id FROM taskiq_results")).fetchall()
    assert rows == []


def claim_steps(db: sqlite3.Connection, broker: SQLiteBroker) -> int:
    """SQLite VM instructions one claim runs (counted, not timed: the same on any machine)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # 0: go on

    db.set_progress_handler(count, 100)
    try:
        db.execute("BEGIN IMMEDIATE")
        assert len(broker._claim_rows(db)) == broker.claim_batch
        db.execute("ROLLBACK")  # the queue stays as it was
    finally:
        db.set_progress_handler(None, 0)
    return steps * 100


async def test_a_claim_costs_the_same_behind_a_long_queue(open_broker):
    broker = await open_broker(claim_batch=50)
    db = broker._writer.connection

    def enqueue(count: int, start: int) -> None:
        with db:
            for n in range(start, start + count):
                broker._insert(db, message(n), 0.0, float(n))  # ready in enqueue order

    enqueue(100, 0)
    short = claim_steps(db, broker)
    enqueue(20_000, 100)
    long = claim_steps(db, broker)
    # Sorting every ready row before taking 50 made the second claim 36 times dearer here.
    assert long < short * 2, (short, long)
    plan = " ".join(str(row) for row in db.execute("EXPLAIN QUERY PLAN " + CLAIM, PLAN_PARAMS))
    assert "TEMP B-TREE" not in plan, plan


async def test_the_oldest_ready_message_is_claimed_first(open_broker):
    producer = await open_broker()
    consumer = await open_broker()
    for n in range(3):
        await producer.kick(message(n))
    handed_back = await next_message(consumer)
    assert handed_back.data == b"m0"
    await handed_back.nack()  # ready again at once: it waited longest, so it goes first
    order = []
    for _ in range(3):
        received = await next_message(consumer)
        order.append(received.data)
        await received.ack()
    assert order == [b"m0", b"m1", b"m2"]


async def test_acks_that_follow_a_commit_closely_wait_and_share_the_next(open_broker):
    worker, writes = await with_results(open_broker, claim_batch=3, write_interval=0.5)
    for n in range(3):
        await worker.kick(message(n))
    stream = worker.listen()
    first, second, third = [await asyncio.wait_for(anext(stream), 2) for _ in range(3)]
    await first.ack()  # the worker was quiet: committed at once
    later = asyncio.create_task(second.ack())
    for _ in range(5):  # a task finishing a moment later...
        await asyncio.sleep(0)
    last = asyncio.create_task(third.ack())  # ...and another: one commit for both
    await asyncio.gather(later, last)
    assert writes == [["ack"], ["ack", "ack"]]
    assert await worker.pending() == 0
    await stream.aclose()
