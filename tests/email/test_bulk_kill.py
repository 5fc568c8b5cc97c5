"""SIGKILL a worker during a system-wide send to 1,000 users: nobody gets it twice.

The email a connection was finishing at the kill is the one exception to "exactly once": its
row was committed as sent, and the kill came in the event-loop turn before its last line was
written (see ``sender.transmit``). So at most one email per open SMTP connection can be
lost; none is ever sent twice.
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
    counts = smtp.per_recipient()
    assert set(counts.values()) == {1}, {a: c for a, c in counts.items() if c != 1}
    lost = sorted(set(addresses) - set(counts))
    assert len(lost) <= knobs["EMAIL_CONCURRENCY"], lost  # one in-flight email per connection
    assert result["sent"] + result["skipped"] == USERS and result["failed"] == 0
    assert result["skipped"] >= at_kill  # what the killed worker had sent was not sent again
