"""Poison messages, as an attacker with access to the broker would plant them.

Each one is dead-lettered exactly once, with its reason; the worker goes on in the same
process (no crash, no restart loop) and runs the good task sent after them; and the admin's
dead-letter view still answers, showing the letter as truncated text.
"""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest
from taskiq import BrokerMessage

from tests.support.brokers import TEST_REDIS_DB, BrokerEnv
from tests.support.dead_letters import read_dead_letters
from tests.support.probe_tasks import read_runs
from tests.support.producer import kick, producer
from tests.support.waiting import async_wait_for, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]
PROBE = ["tests.support.probe_tasks"]
TOKEN = "poison-adm1n-token"
DEEP = b"[" * 100_000 + b"]" * 100_000  # parsed recursively, this overflows Python's stack


def good_message(task_id: str, runs: str, key: str) -> bytes:
    """A taskiq message for ``probe.record_run``: it would run if a worker accepted it."""
    return json.dumps(
        {"task_id": task_id, "task_name": "probe.record_run", "labels": {}, "args": [],
         "kwargs": {"path": runs, "key": key}}
    ).encode()  # fmt: skip


def ran(runs: str, key: str) -> bool:
    return any(row[0] == key and row[3] is not None for row in read_runs(runs))


def assert_one_untroubled_worker(worker) -> None:
    """Alive, its one worker process never restarted, and nothing raised out of it."""
    assert worker.alive(), worker.log()[-3000:]
    assert len(worker.started_pids()) == 1, worker.log()[-3000:]
    assert "Traceback" not in worker.log(), worker.log()[-3000:]


async def run_a_good_task(env: BrokerEnv, broker, worker, runs: str) -> None:
    key = f"good-{uuid.uuid4().hex[:8]}"
    await kick(broker, "probe.record_run", path=runs, key=key)
    wait_for(lambda: ran(runs, key) or not worker.alive(), timeout=15,
             what="the good task sent after the poison")  # fmt: skip
    assert ran(runs, key), f"the worker died:\n{worker.log()[-3000:]}"


# -- counting without consuming (RabbitMQ's read_dead_letters takes the letters out) -------
def sqlite_rows(env: BrokerEnv, table: str) -> int:
    with sqlite3.connect(env.tmp_path / "broker.db", timeout=30) as db:
        query = f"SELECT count(*) FROM {table} WHERE queue = ?"
        return db.execute(query, (env.queue,)).fetchone()[0]


async def count_dead_letters(env: BrokerEnv) -> int:
    if env.broker_type == "sqlite":
        return sqlite_rows(env, "taskiq_dead_letters")
    if env.broker_type == "redis":
        from redis.asyncio import Redis

        async with Redis(host="127.0.0.1", port=6379, db=TEST_REDIS_DB) as redis:
            return await redis.xlen(f"{env.queue}:dead-letters")
    import aio_pika

    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{env.queue}.dead_letter", passive=True)
        return queue.declaration_result.message_count or 0


async def left_in_queue(env: BrokerEnv) -> int:
    """Messages the worker has not acknowledged (RabbitMQ: not yet delivered)."""
    if env.broker_type == "sqlite":
        return sqlite_rows(env, "taskiq_messages")
    if env.broker_type == "redis":
        from redis.asyncio import Redis

        async with Redis(host="127.0.0.1", port=6379, db=TEST_REDIS_DB) as redis:
            return (await redis.xpending(env.queue, env.queue))["pending"]
    import aio_pika

    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(env.queue, passive=True)
        return queue.declaration_result.message_count or 0


async def settle(env: BrokerEnv, expected: int) -> None:
    """Wait until ``expected`` letters are in and nothing is left to deliver again."""

    async def settled() -> bool:
        return await count_dead_letters(env) >= expected and await left_in_queue(env) == 0

    await async_wait_for(settled, timeout=15, what=f"{expected} dead letters, an empty queue")


# -- 1. SQLite: rows whose payload is TEXT, not the BLOB every producer writes ------------
TEXT_ROWS = {
    "text-empty": ("?", ""),
    "text-not-json": ("?", "this is not json {"),
    "text-json-message": ("?", None),  # a runnable message, filled in by the test
    "text-huge": ("?", '{"task_id": "' + "A" * 4_000_000),
    # Python's sqlite3 refuses to bind a lone surrogate; SQLite stores the bytes as TEXT.
    "text-bad-utf8": ("CAST(? AS TEXT)", b'{"\xed\xa0\x80\xff\xfe"}'),
}


@pytest.mark.parametrize("broker_env", ["sqlite"], indirect=True)
async def test_sqlite_rows_with_a_text_payload_are_dead_lettered_once(
    broker_env, start_worker, tmp_path
):
    runs = str(tmp_path / "runs.db")
    worker = start_worker(broker_env, extra=PROBE)
    rows = dict(TEXT_ROWS)
    rows["text-json-message"] = ("?", good_message("text-json-message", runs, "text").decode())
    with sqlite3.connect(broker_env.tmp_path / "broker.db", timeout=30) as db:
        for task_id, (value, payload) in rows.items():
            db.execute(
                "INSERT INTO taskiq_messages (queue, task_id, task_name, payload, enqueued_at) "
                f"VALUES (?, ?, 'probe.record_run', {value}, 0)",
                (broker_env.queue, task_id, payload),
            )
        types = db.execute("SELECT DISTINCT typeof(payload) FROM taskiq_messages").fetchall()
    assert types == [("text",)]  # each variant really is stored as TEXT

    async with producer(broker_env) as broker:
        await run_a_good_task(broker_env, broker, worker, runs)
        await settle(broker_env, len(rows))
        letters = await broker.dead_letters()
        counted = await read_dead_letters(broker_env, broker)

    assert len(counted) == len(rows)
    assert sorted(letter.task_id for letter in letters) == sorted(rows)  # each exactly once
    for letter in letters:
        assert "TEXT" in letter.reason and "BLOB" in letter.reason, letter.reason
        _, payload = rows[letter.task_id]
        expected = payload if isinstance(payload, bytes) else payload.encode()
        assert letter.payload == expected  # kept whole, as bytes, for inspection
        shown = letter.as_dict()  # what the admin's view shows: text, cut short
        assert len(shown["payload"]) <= 2000
        assert shown["payload_truncated"] == (letter.task_id == "text-huge")
    assert not ran(runs, "text")  # a row no producer wrote is not run
    assert_one_untroubled_worker(worker)


# -- 2. Redis: stream entries without their `data` field ----------------------------------
@pytest.mark.parametrize("broker_env", ["redis"], indirect=True)
async def test_redis_entries_without_data_are_dead_lettered_once_and_acknowledged(
    broker_env, start_worker, tmp_path
):
    from redis.asyncio import Redis

    runs = str(tmp_path / "runs.db")
    lease = {"TASKIQ_LEASE_SECONDS": 1}  # the abandoned entry is reclaimed within a second
    async with (
        producer(broker_env, **lease) as broker,
        Redis(host="127.0.0.1", port=6379, db=TEST_REDIS_DB) as redis,
    ):
        # Taken by a consumer that then vanished: it comes back through the reclaim path.
        await redis.xadd(broker_env.queue, {b"datum": b"abandoned"})
        taken = await redis.xreadgroup(broker_env.queue, "ghost", {broker_env.queue: ">"})
        assert len(taken[0][1]) == 1
        worker = start_worker(broker_env, extra=PROBE, **lease)
        # Read fresh, through XREADGROUP.
        await redis.xadd(broker_env.queue, {b"task_name": b"probe.record_run", b"x": b"1"})
        await run_a_good_task(broker_env, broker, worker, runs)
        await settle(broker_env, 2)
        letters = await read_dead_letters(broker_env, broker)
        assert await redis.xlen(f"{broker_env.queue}:dead-letters") == 2

    assert len(letters) == 2, letters
    for _payload, reason in letters:
        assert "without a data field" in reason, reason
    payloads = b" ".join(payload for payload, _ in letters)
    assert b"abandoned" in payloads and b"probe.record_run" in payloads  # what was there
    assert_one_untroubled_worker(worker)


# -- 3 and 4. Every broker: raw bad bodies, then the admin's dead-letter view --------------
BAD_BODIES = {
    "not-json": b"\x00this is not json\xff",
    "deep": DEEP,
    "deep-in-args": b'{"task_id":"deep-args","task_name":"probe.record_run","labels":{},'
    b'"args":[' + DEEP + b'],"kwargs":{}}',
}


async def publish_raw(env: BrokerEnv, broker, body: bytes) -> None:
    """Straight onto the queue the worker reads, as no taskiq producer would write it."""
    if env.broker_type == "sqlite":
        await broker.kick(BrokerMessage(task_id=uuid.uuid4().hex, task_name="raw",
                                        message=body, labels={}))  # fmt: skip
    elif env.broker_type == "redis":
        from redis.asyncio import Redis

        async with Redis(host="127.0.0.1", port=6379, db=TEST_REDIS_DB) as redis:
            await redis.xadd(env.queue, {b"data": body})
    else:
        import aio_pika

        connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
        async with connection:
            channel = await connection.channel()
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=env.queue)


async def test_raw_poison_is_dead_lettered_once_and_the_view_shows_it(
    broker_env, start_worker, start_api, tmp_path
):
    runs = str(tmp_path / "runs.db")
    worker = start_worker(broker_env, extra=PROBE)
    api = start_api(broker_env, ADMIN_TOKEN=TOKEN)
    async with producer(broker_env) as broker:
        for body in BAD_BODIES.values():
            await publish_raw(broker_env, broker, body)
        await run_a_good_task(broker_env, broker, worker, runs)
        await settle(broker_env, len(BAD_BODIES))

        with api.client() as client:  # before read_dead_letters, which empties RabbitMQ's
            response = client.get("/tasks/dead-letters", headers={"X-Admin-Token": TOKEN})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert len(items) == len(BAD_BODIES)
        (deep,) = [item for item in items if item["payload"].startswith("[[[[")]
        assert deep["payload"] == "[" * len(deep["payload"]) and deep["payload_truncated"]
        assert len(deep["payload"]) <= 2000
        assert all(item["reason"].startswith("malformed message") for item in items), items

        letters = await read_dead_letters(broker_env, broker)
    assert sorted(payload for payload, _ in letters) == sorted(BAD_BODIES.values())
    assert_one_untroubled_worker(worker)
