"""What goes wrong, and the clear outcome: bad input, bad tokens, bad addresses, no SMTP."""

from __future__ import annotations

import sqlite3
import time

import pytest

from reference_app.modules.email.message import InvalidEmailError, build_message
from reference_app.modules.users.security import issue_token
from tests.email.conftest import ADMIN_TOKEN, SECRET_KEY
from tests.support.brokers import BrokerEnv
from tests.support.processes import free_port
from tests.support.producer import kick, producer
from tests.support.smtp import smtp_server
from tests.support.waiting import wait_for


def deliveries(env: BrokerEnv) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(env.database_path, timeout=30) as db:
        return db.execute("SELECT recipient, status, error FROM email_deliveries").fetchall()


def user_id(env: BrokerEnv, email: str) -> int:
    """Sign-up answers alike for new and taken addresses: the id is in the database only."""
    with sqlite3.connect(env.database_path, timeout=30) as db:
        return db.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]


def queued_messages(env: BrokerEnv) -> int:
    with sqlite3.connect(env.tmp_path / "broker.db", timeout=30) as db:
        return db.execute("SELECT count(*) FROM taskiq_messages").fetchone()[0]


@pytest.mark.parametrize(
    "field,value",
    [("subject", "Hi\r\nBcc: everyone@example.com"), ("to_name", "Eve\nBcc: all@example.com")],
)
def test_a_cr_or_lf_in_a_header_is_refused(field, value):
    fields = {"subject": "Hi", "to_name": "Eve"} | {field: value}
    with pytest.raises(InvalidEmailError, match="control character"):
        build_message(sender="App <app@example.com>", to="eve@example.com", text="t", html=None,
                      idempotency_key="k", **fields)  # fmt: skip


def test_invalid_input_is_a_422_before_anything_is_queued(tmp_path, start_api, mail_settings):
    env = BrokerEnv("sqlite", tmp_path)  # no worker: anything queued would stay in the queue
    api = start_api(env, **mail_settings)
    with api.client() as client:
        bad_address = client.post("/users", json={"email": "not-an-address", "name": "X"})
        assert bad_address.status_code == 422
        assert bad_address.json()["detail"][0]["loc"] == ["body", "email"]
        injected = client.post("/users", json={"email": "eve@example.com",
                                               "name": "Eve\r\nBcc: all@example.com"})  # fmt: skip
        assert injected.status_code == 422
        assert "control characters" in injected.json()["detail"][0]["msg"]
        reset = client.post("/users/password-reset", json={"email": "bad@@example.com"})
        assert reset.status_code == 422
        signed_up = client.post("/users", json={"email": "ok@example.com", "name": "Ok"})
        assert signed_up.status_code == 202
        before = queued_messages(env)  # the sign-up's two emails
        note = {"subject": "Hi\nBcc: all@example.com", "message": "x"}
        admin = {"X-Admin-Token": ADMIN_TOKEN}
        path = f"/users/{user_id(env, 'ok@example.com')}/notifications"
        notify = client.post(path, json=note, headers=admin)
        assert notify.status_code == 422
    assert before == 2 and queued_messages(env) == 2
    with sqlite3.connect(env.database_path) as db:
        assert db.execute("SELECT email FROM users").fetchall() == [("ok@example.com",)]


def test_expired_and_tampered_tokens_are_refused(tmp_path, start_api, mail_settings):
    env = BrokerEnv("sqlite", tmp_path)
    api = start_api(env, **mail_settings, VERIFY_TOKEN_MAX_AGE=3600)
    with api.client() as client:
        signed_up = client.post("/users", json={"email": "t@example.com", "name": "T"})
        assert signed_up.status_code == 202
        data = {"uid": user_id(env, "t@example.com"), "email": "t@example.com"}
        expired = issue_token("verify-email", data, secret=SECRET_KEY,
                              issued_at=int(time.time()) - 7200)  # fmt: skip
        response = client.get("/users/verify", params={"token": expired})
        assert response.status_code == 400 and "expired" in response.json()["detail"]

        good = issue_token("verify-email", data, secret=SECRET_KEY)
        for tampered in (good[:-2] + ("xy" if good[-2:] != "xy" else "zz"),
                         issue_token("verify-email", data, secret="someone else's key"),
                         issue_token("password-reset", data, secret=SECRET_KEY)):  # fmt: skip
            response = client.get("/users/verify", params={"token": tampered})
            assert response.status_code == 400 and "not valid" in response.json()["detail"]
        assert client.get("/users/verify", params={"token": good}).status_code == 200


@pytest.mark.broker
async def test_smtp_down_retries_then_records_failure_and_the_worker_keeps_going(
    broker_env, start_worker, mail_settings
):
    port = free_port()  # nothing listens here yet
    settings = {**mail_settings, "SMTP_PORT": port, "SMTP_MAX_ATTEMPTS": 3}
    worker = start_worker(broker_env, **settings)
    async with producer(broker_env) as broker:
        task = await kick(broker, "send_email", to="down@example.com", subject="Hello", text="x")
        result = await task.wait_result(timeout=60)
        assert not result.is_err, result.error
        assert result.return_value["sent"] == 0 and result.return_value["failed"] == 1
        (error,) = result.return_value["errors"]
        assert "gave up after 3 tries" in error and "down@example.com" in error
        [(recipient, status, reason)] = deliveries(broker_env)
        assert (recipient, status) == ("down@example.com", "failed")
        assert "gave up after 3 tries" in reason
        assert worker.log().count("try 2 of 3") == 1 and worker.log().count("try 3 of 3") == 1
        assert worker.alive()

        with smtp_server(port) as smtp:  # the server is back: the same worker sends again
            task = await kick(broker, "send_email", to="up@example.com", subject="Back", text="y")
            result = await task.wait_result(timeout=60)
            assert result.return_value["sent"] == 1
            wait_for(lambda: smtp.to("up@example.com"), timeout=10, what="the email")


@pytest.mark.broker
async def test_bulk_goes_past_bad_addresses_and_a_redelivery_sends_nothing_twice(
    broker_env, start_worker, mail_settings, smtp
):
    start_worker(broker_env, **mail_settings, EMAIL_BATCH_SIZE=7, EMAIL_CONCURRENCY=3)
    good = [f"r{n}@example.com" for n in range(30)]
    recipients = [*good[:10], "not an address", "reject-me@example.com", *good[10:]]
    async with producer(broker_env) as broker:
        task = await kick(broker, "send_bulk_email", recipients=recipients, subject="News",
                          text="Hello", campaign="news-1")  # fmt: skip
        first = (await task.wait_result(timeout=60)).return_value
        assert (first["sent"], first["failed"], first["skipped"]) == (30, 2, 0)
        assert any("not an address" in e for e in first["errors"])
        assert any("550" in e for e in first["errors"])
        # The same campaign again, as a redelivered task would run: every email is skipped.
        task = await kick(broker, "send_bulk_email", recipients=recipients, subject="News",
                          text="Hello", campaign="news-1")  # fmt: skip
        second = (await task.wait_result(timeout=60)).return_value
        assert (second["sent"], second["failed"], second["skipped"]) == (0, 0, 32)
    assert smtp.per_recipient() == dict.fromkeys(good, 1)
    mail = smtp.to("r0@example.com")[0]
    assert mail.part("plain").strip() == "Hello" and "<p>Hello</p>" in mail.part("html")
