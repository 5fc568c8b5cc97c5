"""SIGKILL a worker during a system-wide send to 1,000 users: everyone gets it, once.

A delivery row is marked sent only after the SMTP server accepted the email
(``sender.transmit``), so nothing is ever lost. An email the server accepted in the instant
before the kill, before its row was marked, is sent again by the redelivered task with the
same Message-ID: mail systems keep one copy. So every recipient's mailbox holds exactly one
distinct message; the raw copies on the wire are counted and bounded by the open connections.
"""

from __future__ import annotations

import signal
import sqlite3

import pytest

from reference_app.infrastructure.database.types import utcnow
from tests.email.conftest import ADMIN_TOKEN
from tests.support.producer import producer
from tests.support.waiting import async_wait_for, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]
USERS = 1000


def add_users(db_path, count: int) -> list[str]:
    addresses = [f"member{n:04d}@example.com" for n in range(count)]
    now = utcnow().isoformat()
    with sqlite3.connect(db_path, timeout=30) as db:
        db.executemany(
            "INSERT INTO users (email, name, is_active, is_verified, created_at) "
            "VALUES (?, ?, 1, 1, ?)",
            [(a, f"Member {n}", now) for n, a in enumerate(addresses)],
        )
    return addresses


async def test_sigkill_mid_broadcast_every_recipient_gets_it_exactly_once(
    broker_env, start_worker, start_api, mail_settings, smtp
):
    api = start_api(broker_env, **mail_settings)  # its lifespan creates the tables
    addresses = add_users(broker_env.database_path, USERS)
    knobs = {**mail_settings, "EMAIL_BATCH_SIZE": 25, "EMAIL_CONCURRENCY": 4}
    worker = start_worker(broker_env, **knobs)
    with api.client() as client:
        news = {"subject": "Big news", "message": "Read all about it."}
        queued = client.post("/users/broadcast", json=news, headers={"X-Admin-Token": ADMIN_TOKEN})
        assert queued.status_code == 202, queued.text
        task_id = queued.json()["task_id"]

    wait_for(lambda: len(smtp.received()) >= 150, timeout=120, interval=0.01,
             what="150 emails before the kill")  # fmt: skip
    worker.signal_group(signal.SIGKILL)
    worker.wait_exit(timeout=10)
    at_kill = len(smtp.received())
    assert at_kill < USERS, "the kill came too late to test anything"

    start_worker(broker_env, **knobs)  # the message comes back to this one
    async with producer(broker_env) as broker:

        async def done():
            return await broker.result_backend.is_result_ready(task_id)

        await async_wait_for(done, timeout=180, what="the redelivered broadcast to finish")
        result = (await broker.result_backend.get_result(task_id)).return_value
    received = smtp.received()
    message_ids: dict[str, set[str]] = {}
    for mail in received:
        for address in mail.rcpt_tos:
            message_ids.setdefault(address, set()).add(str(mail.message["Message-ID"]))
    assert sorted(message_ids) == sorted(addresses)  # nobody lost
    assert all(len(ids) == 1 for ids in message_ids.values())  # one distinct email each
    copies = len(received) - USERS  # accepted just before the kill, sent again after it
    assert 0 <= copies <= knobs["EMAIL_CONCURRENCY"], copies  # one per open connection, at most
    assert result["failed"] == 0
    assert result["sent"] + result["skipped"] == USERS
    assert result["skipped"] >= at_kill - knobs["EMAIL_CONCURRENCY"]  # not sent again
