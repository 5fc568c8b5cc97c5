"""Task ids that sort by time (UUIDv7), made by every broker ``build_broker`` builds."""

from __future__ import annotations

import time
import uuid

import pytest

from reference_app.infrastructure.taskiq.brokers import build_broker
from taskiq_extras.task_ids import new_task_id
from tests.support.brokers import BROKER_TYPES, BrokerEnv
from tests.support.producer import kick, producer


def test_an_id_is_a_uuid7_in_taskiqs_format():
    task_id = new_task_id()
    assert len(task_id) == 32 and task_id == task_id.lower()
    parsed = uuid.UUID(hex=task_id)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert parsed.hex == task_id


def test_ids_begin_with_their_time_and_sort_by_it():
    before = time.time_ns() // 1_000_000
    task_id = new_task_id()
    after = time.time_ns() // 1_000_000
    assert before <= int(task_id[:12], 16) <= after  # the first 48 bits: Unix time in ms

    ids = []
    for _ in range(5):
        ids.append(new_task_id())
        started = time.monotonic_ns()
        while time.monotonic_ns() - started < 2_000_000:  # into the next millisecond
            pass
    assert ids == sorted(ids)


def test_ids_made_in_the_same_millisecond_differ():
    ids = [new_task_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert len({task_id[:12] for task_id in ids}) < len(ids)  # many shared a millisecond


@pytest.mark.parametrize("broker_type", BROKER_TYPES)
def test_every_broker_names_tasks_with_them(broker_type, tmp_path):
    broker = build_broker(BrokerEnv(broker_type, tmp_path).settings())
    assert broker.id_generator is new_task_id


async def test_an_enqueued_task_and_its_queued_message_carry_one(tmp_path):
    env = BrokerEnv("sqlite", tmp_path)
    async with producer(env) as broker:
        first = await kick(broker, "process_report", report_id=1)
        second = await kick(broker, "process_report", report_id=2)
        cursor = await broker.db.execute("SELECT task_id FROM taskiq_messages ORDER BY id")
        queued = [row[0] for row in await cursor.fetchall()]
    assert uuid.UUID(hex=first.task_id).version == 7
    assert queued == [first.task_id, second.task_id]
