"""A non-ASCII address in a bulk send: sent with SMTPUTF8 where the server offers it, else
that address's error alone; the rest of the batch goes out either way."""

from __future__ import annotations

import pytest

from tests.support.brokers import BrokerEnv
from tests.support.producer import kick, producer
from tests.support.smtp import smtp_server


@pytest.mark.broker
@pytest.mark.parametrize("smtputf8", [True, False], ids=["server-offers-SMTPUTF8", "it-does-not"])
async def test_a_non_ascii_address_never_fails_the_batch(tmp_path, start_worker, smtputf8):
    env = BrokerEnv("sqlite", tmp_path)
    with smtp_server(smtputf8=smtputf8) as smtp:
        start_worker(env, **smtp.settings(), EMAIL_BATCH_SIZE=10, SMTP_RETRY_BACKOFF=0.1)
        recipients = ["a@example.com", "josé@exämple.com", "jose@exämple.com", "b@example.com"]
        async with producer(env) as broker:
            task = await kick(broker, "send_bulk_email", recipients=recipients, subject="Café",
                              text="Hello", campaign="idn-1")  # fmt: skip
            totals = (await task.wait_result(timeout=60)).return_value
        received = set(smtp.per_recipient())
    ascii_ones = {"a@example.com", "b@example.com", "jose@xn--exmple-cua.com"}
    if smtputf8:
        assert (totals["sent"], totals["failed"]) == (4, 0), totals
        assert received == ascii_ones | {"josé@exämple.com"}
        (mail,) = [m for m in smtp.received() if "josé@exämple.com" in m.rcpt_tos]
        assert mail.subject == "Café"
    else:
        assert (totals["sent"], totals["failed"]) == (3, 1), totals
        (error,) = totals["errors"]
        assert error.startswith("josé@exämple.com") and "SMTPUTF8" in error
        assert received == ascii_ones
