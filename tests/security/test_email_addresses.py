"""A non-ASCII address in a bulk send is that address's error alone; the rest go out."""

from __future__ import annotations

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.producer import kick, producer
from tests.support.smtp import smtp_server


@pytest.mark.broker
async def test_one_non_ascii_address_fails_alone_and_an_idn_domain_is_sent(tmp_path, start_worker):
    env = BrokerEnv("sqlite", tmp_path)
    with smtp_server() as smtp:
        start_worker(env, **smtp.settings(), EMAIL_BATCH_SIZE=10, SMTP_RETRY_BACKOFF=0.1)
        recipients = ["a@example.com", "josé@exämple.com", "jose@exämple.com", "b@example.com"]
        async with producer(env) as broker:
            task = await kick(broker, "send_bulk_email", recipients=recipients, subject="News",
                              text="Hello", campaign="idn-1")  # fmt: skip
            totals = (await task.wait_result(timeout=60)).return_value
        assert (totals["sent"], totals["failed"]) == (3, 1), totals
        (error,) = totals["errors"]
        assert error.startswith("josé@exämple.com") and "SMTPUTF8" in error
        assert set(smtp.per_recipient()) == {
            "a@example.com",
            "b@example.com",
            "jose@xn--exmple-cua.com",
        }
