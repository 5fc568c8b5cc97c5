"""recipes/email_tasks on every broker, real SMTP, and the mistakes readers make with email.

The email module's own suite (tests/email) proves retries with backoff, bulk sends past bad
addresses and exactly-once delivery under kill -9; here, what a reader of the recipe meets.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tests.support.app_server import AppServer
from tests.support.brokers import BrokerEnv
from tests.support.processes import free_port
from tests.support.producer import kick, producer
from tests.support.recipes import run_recipe
from tests.support.smtp import SmtpServer, smtp_server
from tests.support.waiting import wait_for

APP = "recipes.email_tasks.app:app"
INJECTED = "Hi\r\nBcc: everyone@example.com"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) in the test process, on a free port."""
    with smtp_server() as server:
        yield server


def deliveries(env: BrokerEnv) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(env.database_path, timeout=30) as db:
        rows = db.execute("SELECT recipient, status, error FROM email_deliveries").fetchall()
    return sorted(rows)


def queued_messages(env: BrokerEnv) -> int:
    with sqlite3.connect(env.tmp_path / "broker.db", timeout=30) as db:
        return db.execute("SELECT count(*) FROM taskiq_messages").fetchone()[0]


def serve(env: BrokerEnv, tmp_path, **settings: object) -> AppServer:
    return AppServer(APP, env.process_env(**settings), tmp_path / "app.log").start_and_wait()


def wait_until_done(client, status_url: str) -> dict:
    return wait_for(
        lambda: (state := client.get(status_url).json())["status"] != "pending" and state,
        timeout=60,
        what=f"{status_url} to be done",
    )


@pytest.mark.broker
def test_the_recipe_runs_as_a_reader_runs_it(broker_env):
    output = run_recipe("email_tasks", broker_env)
    # What the worker recorded in the app's database: each email sent once.
    assert [(to, status) for to, status, _ in deliveries(broker_env)] == [
        ("ada@example.com", "sent"),
        ("bob@example.com", "sent"),
        ("cy@example.com", "sent"),
    ]
    # What the recipe's SMTP server received, as it prints it.
    assert "the SMTP server received 3 emails:" in output
    for to, subject in [("ada@example.com", "Your export is ready"),
                        ("bob@example.com", "Maintenance tonight"),
                        ("cy@example.com", "Maintenance tonight")]:  # fmt: skip
        assert f"to {to}: {subject!r}, parts: text/plain + text/html" in output
    assert "POST /emails to 'ada.example.com' -> 422" in output


@pytest.mark.broker
def test_the_routes_answer_202_and_the_emails_arrive_with_both_parts(
    broker_env, start_worker, smtp, tmp_path
):
    start_worker(broker_env, **smtp.settings())
    server = serve(broker_env, tmp_path)
    try:
        with server.client() as client:
            one = client.post("/emails", json={"to": "ada@example.com", "subject": "Ready",
                                               "text": "Hello <Ada>,\n\nit is ready."})  # fmt: skip
            assert one.status_code == 202, one.text
            queued = one.json()
            assert queued["status_url"] == f"{server.base_url}/emails/{queued['task_id']}"
            recipients = ["bob@example.com", "cy@example.com", "dee@example.com"]
            news = {"recipients": recipients, "subject": "News", "text": "Hi all"}
            many = client.post("/emails/bulk", json=news)
            assert many.status_code == 202, many.text
            single = wait_until_done(client, queued["status_url"])
            bulk = wait_until_done(client, many.json()["status_url"])
    finally:
        server.stop()
    assert (single["status"], single["sent"], single["failed"]) == ("done", 1, 0)
    assert (bulk["status"], bulk["sent"], bulk["failed"]) == ("done", 3, 0)
    assert smtp.per_recipient() == dict.fromkeys(["ada@example.com", *recipients], 1)

    (mail,) = smtp.to("ada@example.com")
    assert mail.subject == "Ready"
    assert mail.mail_from == "noreply@example.com"  # SMTP_FROM's default
    assert mail.message.get_content_type() == "multipart/alternative"
    assert "Hello <Ada>," in mail.part("plain")
    assert "Hello &lt;Ada&gt;," in mail.part("html")  # autoescaped: text, never markup
    letter = smtp.to("cy@example.com")[0]
    assert letter.rcpt_tos == ("cy@example.com",)  # one email per recipient: no shared To
    assert letter.subject == "News" and "<p>Hi all</p>" in letter.part("html")


def test_bad_input_is_a_422_before_anything_is_queued(tmp_path):
    env = BrokerEnv("sqlite", tmp_path)  # no worker: anything queued would stay in the queue
    server = serve(env, tmp_path)
    try:
        with server.client() as client:
            email = {"to": "ada@example.com", "subject": "Hi", "text": "x"}
            bad_to = client.post("/emails", json={**email, "to": "ada.example.com"})
            injected = client.post("/emails", json={**email, "subject": INJECTED})
            bulk = {"recipients": ["bob@example.com", "not an address"], "subject": "Hi",
                    "text": "x"}  # fmt: skip
            bad_bulk = client.post("/emails/bulk", json=bulk)
            assert queued_messages(env) == 0
            assert client.post("/emails", json=email).status_code == 202
            assert queued_messages(env) == 1  # the count does see a queued email
    finally:
        server.stop()
    assert bad_to.status_code == 422
    [error] = bad_to.json()["detail"]
    assert error["loc"] == ["body", "to"]
    assert error["msg"].startswith("value is not a valid email address: An email address must")
    assert injected.status_code == 422
    [error] = injected.json()["detail"]
    assert error["loc"] == ["body", "subject"]
    assert error["msg"] == "Value error, must not contain control characters such as CR or LF"
    assert bad_bulk.status_code == 422
    assert bad_bulk.json()["detail"][0]["loc"] == ["body", "recipients", 1]


@pytest.mark.broker
async def test_a_task_queued_without_the_api_refuses_a_bad_address_and_a_line_break(
    broker_env, start_worker, smtp
):
    # A script or another task calls .kiq() directly: no API validation on the way.
    worker = start_worker(broker_env, **smtp.settings())
    async with producer(broker_env) as broker:
        bad_to = await kick(broker, "send_email", to="ada.example.com", subject="Hi", text="x")
        injected = await kick(broker, "send_email", to="eve@example.com", subject=INJECTED,
                              text="x")  # fmt: skip
        good = await kick(broker, "send_email", to="ok@example.com", subject="Hi", text="x")
        results = [(await task.wait_result(timeout=30)) for task in (bad_to, injected, good)]
    for result in results:
        assert not result.is_err, result.error  # refused emails are a result, not a crash
    refused_to, refused_subject, sent = (result.return_value for result in results)
    assert (refused_to["sent"], refused_to["failed"]) == (0, 1)
    assert refused_to["errors"] == [
        "ada.example.com: to address 'ada.example.com' is not valid: "
        "An email address must have an @-sign."
    ]
    assert (refused_subject["sent"], refused_subject["failed"]) == (0, 1)
    assert refused_subject["errors"] == [
        "eve@example.com: subject contains a control character (CR/LF): refused"
    ]
    assert (sent["sent"], sent["failed"]) == (1, 0)
    wait_for(lambda: smtp.to("ok@example.com"), timeout=10, what="the good email")
    assert smtp.per_recipient() == {"ok@example.com": 1}  # nothing else went out
    assert [(to, status) for to, status, _ in deliveries(broker_env)] == [
        ("ada.example.com", "failed"),
        ("eve@example.com", "failed"),
        ("ok@example.com", "sent"),
    ]
    assert worker.alive()


def test_smtp_down_the_route_still_answers_202_and_the_status_says_why(tmp_path, start_worker):
    env = BrokerEnv("sqlite", tmp_path)
    down = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": free_port(), "SMTP_TLS": "none",
            "SMTP_MAX_ATTEMPTS": 2, "SMTP_RETRY_BACKOFF": 0.1, "SMTP_TIMEOUT": 5}  # fmt: skip
    worker = start_worker(env, **down)  # nothing listens on that port
    server = serve(env, tmp_path)
    try:
        with server.client() as client:
            email = {"to": "ada@example.com", "subject": "Hi", "text": "x"}
            response = client.post("/emails", json=email)
            assert response.status_code == 202  # the API never talks to SMTP
            state = wait_until_done(client, response.json()["status_url"])
    finally:
        server.stop()
    assert (state["status"], state["sent"], state["failed"]) == ("done", 0, 1)
    [error] = state["errors"]
    assert error.startswith("ada@example.com: gave up after 2 tries: ")
    assert "Connect call failed" in error or "Connection refused" in error
    [(_, status, reason)] = deliveries(env)
    assert status == "failed" and reason.startswith("gave up after 2 tries")
    assert worker.alive()  # the worker keeps running; tests/email proves it sends again
