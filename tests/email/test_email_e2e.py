"""HTTP -> broker -> worker process -> real SMTP server, on every broker."""

from __future__ import annotations

import re
import sqlite3
from urllib.parse import urlsplit

import pytest

from tests.email.conftest import ADMIN_TOKEN
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker
LINK = re.compile(r"(http://\S+token=[\w.\-]+)")


def start(broker_env, start_worker, start_api, mail_settings, **extra):
    api = start_api(broker_env, **mail_settings, **extra)
    start_worker(broker_env, PUBLIC_BASE_URL=api.base_url, **mail_settings, **extra)
    return api


def link_path(text: str) -> str:
    url = urlsplit(LINK.search(text).group(1))
    return f"{url.path}?{url.query}"


def test_sign_up_sends_welcome_and_a_verification_link_that_works(
    broker_env, start_worker, start_api, mail_settings, smtp
):
    api = start(broker_env, start_worker, start_api, mail_settings)
    with api.client() as client:
        response = client.post("/users", json={"email": "Ada@Example.com", "name": "Ada <b>"})
        assert response.status_code == 202, response.text  # the same for a taken address

        mails = wait_for(
            lambda: len(got := smtp.to("ada@example.com")) == 2 and got,
            timeout=30,
            what="welcome and verification emails",
        )
        by_subject = {m.subject: m for m in mails}
        assert set(by_subject) == {"Welcome to the Taskiq Cookbook", "Confirm your email address"}
        for mail in mails:
            assert mail.rcpt_tos == ("ada@example.com",)
            assert mail.mail_from == "noreply@example.com"
            assert mail.message.get_content_type() == "multipart/alternative"
            assert "Ada <b>" in mail.part("plain")
            assert "Ada &lt;b&gt;" in mail.part("html")  # autoescaped, never markup
            assert '"Ada <b>" <ada@example.com>' in str(mail.message["To"])

        verification = by_subject["Confirm your email address"]
        path = link_path(verification.part("plain"))
        assert path in verification.part("html").replace("&amp;", "&")
        assert path.startswith("/users/verify?token=")

        tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        bad = client.get(tampered)
        assert bad.status_code == 400 and "not valid" in bad.json()["detail"]

        verified = client.get(path)
        assert verified.status_code == 200, verified.text
        assert verified.json()["status"] == "verified"


def test_password_reset_link_sets_a_new_password_once(
    broker_env, start_worker, start_api, mail_settings, smtp
):
    api = start(broker_env, start_worker, start_api, mail_settings)
    with api.client() as client:
        user = {"email": "bob@example.com", "name": "Bob", "password": "old password"}
        assert client.post("/users", json=user).status_code == 202
        asked = client.post("/users/password-reset", json={"email": "bob@example.com"})
        assert asked.status_code == 202

        reset = wait_for(
            lambda: [m for m in smtp.to("bob@example.com") if m.subject == "Reset your password"],
            timeout=30,
            what="the reset email",
        )[0]
        path = link_path(reset.part("plain"))
        assert path in reset.part("html").replace("&amp;", "&")
        token = path.split("token=")[1]
        assert client.get(path).json()["token_valid"] is True

        new = {"token": token, "new_password": "new password"}
        assert client.post("/users/password-reset/confirm", json=new).status_code == 200
        login = {"email": "bob@example.com", "password": "new password"}
        assert client.post("/users/login", json=login).status_code == 200
        old = {"email": "bob@example.com", "password": "old password"}
        assert client.post("/users/login", json=old).status_code == 401

        again = client.post("/users/password-reset/confirm", json=new)
        assert again.status_code == 400 and "already used" in again.json()["detail"]

    with sqlite3.connect(broker_env.database_path) as db:
        (stored,) = db.execute("SELECT password_hash FROM users WHERE email = 'bob@example.com'")
    assert stored[0].startswith("scrypt$") and "password" not in stored[0]


def test_notification_and_broadcast_reach_each_active_user_once(
    broker_env, start_worker, start_api, mail_settings, smtp
):
    api = start(broker_env, start_worker, start_api, mail_settings, EMAIL_BATCH_SIZE=2)
    addresses = [f"user{n}@example.com" for n in range(5)]
    with api.client() as client:
        for n, address in enumerate(addresses):
            signed_up = client.post("/users", json={"email": address, "name": f"U{n}"})
            assert signed_up.status_code == 202
        wait_for(lambda: len(smtp.received()) == 10, timeout=30, what="10 sign-up emails")
        with sqlite3.connect(broker_env.database_path) as db:
            db.execute("UPDATE users SET is_active = 0 WHERE email = ?", (addresses[4],))
            ids = [db.execute("SELECT id FROM users WHERE email = ?", (a,)).fetchone()[0]
                   for a in addresses]  # fmt: skip

        note = {"subject": "Your report is ready", "message": "It is.\n\nBye."}
        path = f"/users/{ids[0]}/notifications"
        assert client.post(path, json=note).status_code == 401  # mail to someone else: admin
        admin = {"X-Admin-Token": ADMIN_TOKEN}
        assert client.post(path, json=note, headers=admin).status_code == 202
        mail = wait_for(lambda: [m for m in smtp.to(addresses[0]) if m.subject == note["subject"]],
                        timeout=30, what="the notification")[0]  # fmt: skip
        assert "It is." in mail.part("plain") and "<p>Bye.</p>" in mail.part("html")

        news = {"subject": "Maintenance tonight", "message": "From 22:00 UTC."}
        assert client.post("/users/broadcast", json=news).status_code == 401
        wrong = client.post("/users/broadcast", json=news, headers={"X-Admin-Token": "nope"})
        assert wrong.status_code == 401
        queued = client.post("/users/broadcast", json=news, headers={"X-Admin-Token": ADMIN_TOKEN})
        assert queued.status_code == 202, queued.text

        def broadcast_mails():
            return [m for m in smtp.received() if m.subject == news["subject"]]

        wait_for(lambda: len(broadcast_mails()) == 4, timeout=30, what="4 broadcast emails")
    got = sorted(rcpt for m in broadcast_mails() for rcpt in m.rcpt_tos)
    assert got == sorted(addresses[:4])  # the inactive user gets none
