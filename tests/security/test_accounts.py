"""Accounts: a reset link works once, and nothing tells who has an account.

The app runs in this process behind httpx's ASGI transport; a recording mailer stands in for
the email feature, so a test sees which emails were asked for without any broker or SMTP.
"""

from __future__ import annotations

import asyncio
import hashlib

from reference_app.modules.users import service
from reference_app.modules.users.security import (
    SCRYPT_N,
    hash_password,
    issue_token,
    password_fingerprint,
)
from tests.security.conftest import LOCAL, REMOTE, STRONG, client

SIGN_UP = "/users"
LOGIN = "/users/login"
CONFIRM = "/users/password-reset/confirm"


class RecordingMailer:
    """An ``AccountMailer`` that records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def check_limit(self, request, address: str) -> None:
        pass

    async def welcome(self, user_id: int) -> str:
        self.sent.append(("welcome", user_id))
        return f"welcome-{user_id}"

    async def verification(self, user_id: int) -> str:
        self.sent.append(("verification", user_id))
        return f"verification-{user_id}"

    async def password_reset(self, user_id: int) -> str:
        self.sent.append(("password_reset", user_id))
        return f"password_reset-{user_id}"


def with_mailer(app) -> RecordingMailer:
    app.state.account_mailer = mailer = RecordingMailer()
    return mailer


async def add_user(app, email: str, password: str | None) -> tuple[int, str | None]:
    """A user straight into the app's database: (id, password hash)."""
    password_hash = hash_password(password) if password else None
    async with app.state.sessionmaker() as db:
        user = await service.create(db, email=email, name="T", password_hash=password_hash)
    return user.id, password_hash


def login(email: str, password: str) -> dict[str, str]:
    return {"email": email, "password": password}


# -- a reset link is used once, even by requests that arrive together --------------------------
async def test_four_confirms_of_one_reset_link_at_once_change_the_password_once(app_with):
    app = app_with()
    async with app.router.lifespan_context(app), client(app) as http:
        user_id, old_hash = await add_user(app, "reset@example.com", "old password")
        link = {"uid": user_id, "pw": password_fingerprint(old_hash)}
        token = issue_token("password-reset", link, secret=STRONG)
        passwords = [f"new password {n}" for n in range(4)]
        answers = await asyncio.gather(
            *(http.post(CONFIRM, json={"token": token, "new_password": p}) for p in passwords)
        )
        codes = [answer.status_code for answer in answers]
        logins = [(await http.post(LOGIN, json=login("reset@example.com", p))).status_code
                  for p in passwords]  # fmt: skip
    assert sorted(codes) == [200, 400, 400, 400], [answer.text for answer in answers]
    for answer in answers:
        if answer.status_code == 400:
            assert answer.json()["detail"] == "this link was already used"
    assert logins == [200 if code == 200 else 401 for code in codes]  # the winner's password


# -- sign-up: a taken address gets the answer a new one gets ------------------------------------
async def test_signing_up_with_a_taken_address_answers_as_a_new_address_does(app_with):
    app = app_with()
    mailer = with_mailer(app)
    async with app.router.lifespan_context(app), client(app) as http:
        new = await http.post(SIGN_UP, json={"email": "ada@example.com", "name": "Ada",
                                             "password": "ada's password"})  # fmt: skip
        taken = await http.post(SIGN_UP, json={"email": "Ada@Example.com", "name": "Eve",
                                               "password": "eve's password"})  # fmt: skip
        other = await http.post(SIGN_UP, json={"email": "bob@example.com", "name": "Bob"})
        still_ada = await http.post(LOGIN, json=login("ada@example.com", "ada's password"))
    assert new.status_code == taken.status_code == other.status_code == 202, taken.text
    assert new.json() == taken.json() == other.json()
    assert new.json() == {"status": "if the address can be registered, an email is on its way"}
    assert new.headers["content-type"] == taken.headers["content-type"]
    assert still_ada.status_code == 200  # the taken account is untouched
    first, second = new_ids = sorted({user_id for _, user_id in mailer.sent})
    assert mailer.sent == [("welcome", first), ("verification", first),
                           ("welcome", second), ("verification", second)]  # fmt: skip
    assert len(new_ids) == 2  # nothing was sent for the taken address


async def test_four_sign_ups_with_one_address_at_once_make_one_account(app_with):
    app = app_with()
    mailer = with_mailer(app)
    answers = []
    async with app.router.lifespan_context(app), client(app) as http:
        for n in range(5):  # no password: nothing to hash, the four race to the database
            body = {"email": f"same{n}@example.com", "name": "Same"}
            answers += await asyncio.gather(*(http.post(SIGN_UP, json=body) for _ in range(4)))
    assert [answer.status_code for answer in answers] == [202] * 20, [a.text for a in answers]
    assert len({answer.text for answer in answers}) == 1
    assert [kind for kind, _ in mailer.sent] == ["welcome", "verification"] * 5
    assert len({user_id for _, user_id in mailer.sent}) == 5


# -- login: the same work, and the same answer, for every address -------------------------------
async def test_login_hashes_the_password_once_whether_or_not_the_account_exists(
    app_with, monkeypatch
):
    app = app_with()
    real_scrypt = hashlib.scrypt
    hashed: list[int] = []

    def counting_scrypt(*args, **kwargs):
        hashed.append(kwargs["n"])
        return real_scrypt(*args, **kwargs)

    cases = {"known, wrong password": ("known@example.com", "wrong password", 401),
             "known, right password": ("known@example.com", "right password", 200),
             "unknown": ("nobody@example.com", "wrong password", 401),
             "no password": ("nopass@example.com", "wrong password", 401)}  # fmt: skip
    work, answers = {}, {}
    async with app.router.lifespan_context(app), client(app) as http:
        await add_user(app, "known@example.com", "right password")
        await add_user(app, "nopass@example.com", None)
        await http.post(LOGIN, json=login("warm-up@example.com", "any password"))
        monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
        for name, (email, password, _) in cases.items():
            hashed.clear()
            answers[name] = await http.post(LOGIN, json=login(email, password))
            work[name] = list(hashed)
    assert {name: answer.status_code for name, answer in answers.items()} == {
        name: code for name, (_, _, code) in cases.items()
    }
    # one scrypt of the same cost each time: the dummy hash was made once, before
    assert work == {name: [SCRYPT_N] for name in cases}
    refused = [answer.json() for answer in answers.values() if answer.status_code == 401]
    assert refused == [{"detail": "wrong email or password"}] * 3


async def test_failed_logins_are_limited_per_account_alike_for_known_and_unknown(app_with):
    app = app_with(LOGIN_RATE_LIMIT_PER_ACCOUNT=3, LOGIN_RATE_LIMIT_WINDOW_SECONDS=600)
    async with app.router.lifespan_context(app), client(app) as http:
        await add_user(app, "known@example.com", "right password")
        right = login("known@example.com", "right password")
        successes = [(await http.post(LOGIN, json=right)).status_code for _ in range(5)]

        async def four_failures(email: str) -> list:
            emails = [email, email.upper(), email, email]  # one account, however it is written
            return [await http.post(LOGIN, json=login(e, "wrong password")) for e in emails]

        known = await four_failures("known@example.com")
        unknown = await four_failures("nobody@example.com")
        locked = await http.post(LOGIN, json=right)
        elsewhere = await http.post(LOGIN, json=login("third@example.com", "wrong password"))
    assert successes == [200] * 5  # successes are not counted against the account
    for answers in (known, unknown):
        assert [answer.status_code for answer in answers] == [401, 401, 401, 429]
    assert known[-1].json() == unknown[-1].json() == locked.json()
    assert locked.status_code == 429  # even the right password, until the window has moved on
    for limited in (known[-1], unknown[-1], locked):
        assert 0 < int(limited.headers["retry-after"]) <= 600
    assert elsewhere.status_code == 401  # another account is counted apart


async def test_failed_logins_sent_at_once_cannot_pass_the_account_limit(app_with):
    app = app_with(LOGIN_RATE_LIMIT_PER_ACCOUNT=3)
    async with app.router.lifespan_context(app), client(app) as http:
        await add_user(app, "known@example.com", "right password")
        wrong = login("known@example.com", "wrong password")
        answers = await asyncio.gather(*(http.post(LOGIN, json=wrong) for _ in range(8)))
    assert sorted(answer.status_code for answer in answers) == [401] * 3 + [429] * 5


async def test_every_login_counts_per_client(app_with):
    app = app_with(LOGIN_RATE_LIMIT_PER_CLIENT=4)
    async with app.router.lifespan_context(app), client(app, REMOTE) as remote:
        await add_user(app, "known@example.com", "right password")
        codes = [(await remote.post(LOGIN, json=login(email, password))).status_code
                 for email, password in [("known@example.com", "right password"),
                                         ("a@example.com", "x"), ("b@example.com", "x"),
                                         ("c@example.com", "x"),
                                         ("known@example.com", "right password")]]  # fmt: skip
        limited = await remote.post(LOGIN, json=login("d@example.com", "x"))
        async with client(app, LOCAL) as local:
            other_client = await local.post(
                LOGIN, json=login("known@example.com", "right password")
            )
    assert codes == [200, 401, 401, 401, 429]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert other_client.status_code == 200
