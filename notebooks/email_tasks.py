# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Calling the email tasks
#
# Sending an email is the background task every app has: the SMTP server may take a second
# to answer, or not answer at all, and the request that asked for the email should not wait.
# The reference app ships the email tasks (`reference_app/modules/email/tasks.py`); the part
# you write is the route that **validates** the request, **queues** a task with `.kiq()`
# and answers **202** with a status URL. The routes are the `email_tasks` recipe's
# (`recipes/email_tasks/app.py`).
#
# In this notebook a real SMTP server, started right here, receives every email, so you
# can read what a worker actually sent: one email, refused input, a link with a signed
# token, a send that must not happen twice, and a bulk send of 200 emails.

# %% [markdown]
# ## Setup: this notebook's own database, queue and SMTP port
#
# `setup()` (`notebooks/nbsetup.py`) points the app's database and SQLite queue at a fresh
# temporary folder, with `DEV_MODE=true` (local development), and the `SMTP_*` settings at a
# free port on this machine; it returns `cleanup`, which stops what we start (the SMTP
# server, the worker, the folder) at the end, even if a cell fails. It runs before any
# import from `reference_app`: settings are read from the environment once per process, and
# the worker started below inherits this environment.

# %%
from nbsetup import free_port, setup

workdir, cleanup = setup(
    "email_tasks",
    SMTP_HOST="127.0.0.1",  # the SMTP server this notebook starts below,
    SMTP_PORT=free_port(),  # on a port nothing listens on yet,
    SMTP_TLS="none",  # with no TLS and no login
    SECRET_KEY="this-notebook-only",  # signs the links in emails
    EMAIL_BATCH_SIZE=25,  # bulk sends: 25 recipients per SMTP connection (default 100)
)

# %% [markdown]
# ## A real SMTP server, a worker, and the app
#
# The SMTP server is the reference app's **mail catcher** (`modules/email/catcher.py`, the
# one `make run` starts): aiosmtpd, in a thread of this kernel, keeping every email it
# receives in a SQLite file. We wrap its handler to also note *when* each email arrived, and
# on which SMTP connection, for the plot at the end.
#
# Then the usual pair: the broker's client side in this kernel (the app's lifespan does it
# under uvicorn; httpx's in-process transport runs no lifespan, so we do it here), and a
# worker process. Started with no module, the worker finds every `modules/*/tasks.py` by
# itself, the email tasks among them. The tables are created first, so the users table
# exists for the signed link further down.

# %%
import time

from aiosmtpd.controller import Controller

from reference_app.infrastructure.config import get_settings
from reference_app.modules.email.settings import get_email_settings
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq import run_worker
from taskiq_extras.processes import worker_process
from reference_app.modules.email.catcher import CatchingHandler, MailStore


class TimedCatcher(CatchingHandler):
    """The mail catcher, noting when each email arrived and on which connection."""

    def __init__(self, store: MailStore) -> None:
        super().__init__(store)
        self.arrivals: list[tuple[float, int]] = []  # (time, the client's port)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.arrivals.append((time.monotonic(), session.peer[1]))
        return await super().handle_DATA(server, session, envelope)


email_settings = get_email_settings()  # the email feature's own settings (SMTP_*, EMAIL_*)
mailbox = MailStore(f"{workdir}/mail.db")
mailbox.create()
handler = TimedCatcher(mailbox)
smtp_server = Controller(handler, hostname=email_settings.SMTP_HOST, port=email_settings.SMTP_PORT)
smtp_server.start()
cleanup.callback(smtp_server.stop)

settings = get_settings()
engine = create_engine_from_settings(settings.DATABASE_URL)
await create_tables(engine)
await email_broker.startup()
worker = cleanup.enter_context(worker_process(run_worker))
print(f"SMTP server listening on smtp://{email_settings.SMTP_HOST}:{email_settings.SMTP_PORT}")
print(f"emails come from {email_settings.SMTP_FROM!r}")

# %% [markdown]
# ## One email through the route
#
# The recipe's `POST /emails` checks the request, calls
# `send_email_task.kiq(to=..., subject=..., text=...)` and answers `202` as soon as the
# broker has the message: the response carries the task id and a status URL. The status
# route reads the task's result: `pending` until the worker is done, then the counts the
# task returned.

# %%
import asyncio

import httpx

from recipes.email_tasks.app import app

api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://recipe")


async def wait_until_done(status_url: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (state := (await api.get(status_url)).json())["status"] == "pending":
        assert time.monotonic() < deadline, f"{status_url} still pending: is the worker running?"
        await asyncio.sleep(0.1)
    return state


response = await api.post(
    "/emails",
    json={
        "to": "ada@example.com",
        "subject": "Your export is ready",
        "text": "Hello Ada,\n\nyour export is ready to download.",
    },
)
print(response.status_code, response.json())
await wait_until_done(response.json()["status_url"])

# %% [markdown]
# `sent: 1`. And here is what the SMTP server received: a multipart email, a text part (what
# the route was given) and an HTML part the worker rendered from it.


# %%
def show(mail) -> None:
    parsed = mail.parsed()
    print(f"From:    {parsed['From']}")
    print(f"To:      {parsed['To']}")
    print(f"Subject: {mail.subject}")
    print(f"Parts:   {', '.join(part.get_content_type() for part in parsed.walk())}")
    print("--- text part ---")
    print(mail.part("plain").strip())


def received() -> list:
    return sorted(mailbox.list(limit=10_000), key=lambda mail: mail.id)


show(received()[-1])

# %% [markdown]
# ## Refused input: before the queue, and again in the worker
#
# The request models refuse what cannot become an email: an address without `@`, and a
# subject with a line break (`"Hi\r\nBcc: everyone@example.com"` would add a header of the
# caller's choosing). The client gets a `422` on the field at fault, and nothing is queued.

# %%
bad_requests = {
    "an invalid address": {"to": "ada.example.com", "subject": "Hi", "text": "x"},
    "a CR/LF in the subject": {
        "to": "eve@example.com",
        "subject": "Hi\r\nBcc: everyone@example.com",
        "text": "x",
    },
}
for what, body in bad_requests.items():
    response = await api.post("/emails", json=body)
    detail = response.json()["detail"][0]
    print(f"{what}: {response.status_code} at {detail['loc']}: {detail['msg']}")

# %% [markdown]
# A script can call `.kiq()` without going through the API, so the task checks again. It
# does not raise and is not retried (a bad address stays bad): it returns `failed: 1` with
# the reason, and records it in the `email_deliveries` table.

# %%
from reference_app.modules.email.tasks import send_email_task

task = await send_email_task.kiq(to="ada.example.com", subject="Hi", text="x")
print("task id:", task.task_id)
(await task.wait_result(timeout=30)).return_value

# %% [markdown]
# ## A link with a signed token
#
# `send_verification_email_task(user_id=...)` takes a user's **id** (arguments travel as
# JSON), loads the user in the worker, signs a token with `SECRET_KEY` and puts it in a
# link. We add a user straight into this notebook's database (the `users` feature's
# `POST /users` does it, then queues this same task).

# %%
import re

from sqlalchemy.ext.asyncio import async_sessionmaker

from reference_app.modules.email.tasks import send_verification_email_task
from reference_app.modules.users import service as users

async with async_sessionmaker(engine, expire_on_commit=False)() as db:
    user = await users.create(db, email="grace@example.com", name="Grace", password_hash=None)

task = await send_verification_email_task.kiq(user_id=user.id)
print("task id:", task.task_id)
print("result:", (await task.wait_result(timeout=30)).return_value)
verification = received()[-1]
show(verification)
link = re.search(r"http\S+token=\S+", verification.part("plain")).group()

# %% [markdown]
# The token is the user's id and address, a timestamp and an HMAC of them. The app's
# `GET /users/verify` reads it back with the same key; one changed character, and it is
# refused.

# %%
from reference_app.modules.users.security import TokenError, read_token
from reference_app.modules.users.settings import get_users_settings

token = link.split("token=")[1]
secret = get_users_settings().SECRET_KEY.get_secret_value()
max_age = get_users_settings().VERIFY_TOKEN_MAX_AGE
print("read back:", read_token("verify-email", token, secret=secret, max_age=max_age))
tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
try:
    read_token("verify-email", tampered, secret=secret, max_age=max_age)
except TokenError as exc:
    print("tampered:", exc)

# %% [markdown]
# ## Sent once, even when the task runs twice
#
# A queue delivers a message *at least* once: a worker killed mid-task gets its message
# redelivered, and the task runs again. Each email is recorded in `email_deliveries` under an
# **idempotency key** before it goes out, so the second run finds it sent and skips it.
# Here we run the same send twice with the same key, as a redelivery would:

# %%
for attempt in (1, 2):
    task = await send_email_task.kiq(
        to="bob@example.com",
        subject="Invoice 2024-001",
        text="Your invoice is attached.",
        idempotency_key="invoice:2024-001",
    )
    result = (await task.wait_result(timeout=30)).return_value
    print(f"run {attempt}: sent {result['sent']}, skipped {result['skipped']}")
to_bob = [mail for mail in received() if mail.rcpt_to == "bob@example.com"]
print("emails the SMTP server received for bob@example.com:", len(to_bob))

# %% [markdown]
# Without an `idempotency_key`, `send_email_task` uses its task id, which a redelivered
# message keeps; the bulk task does the same with its `campaign`.
#
# ## A bulk send
#
# `send_bulk_email_task` sends to a list in batches of `EMAIL_BATCH_SIZE` (25 here), one
# SMTP connection per batch, `EMAIL_CONCURRENCY` (4) batches at once. A bad address fails
# alone: the others go out. 200 recipients, one of them invalid:

# %%
from reference_app.modules.email.tasks import send_bulk_email_task

recipients = [f"reader{n:03}@example.com" for n in range(200)]
recipients[57] = "reader057.example.com"  # no @
before = len(handler.arrivals)
task = await send_bulk_email_task.kiq(
    recipients=recipients, subject="Maintenance tonight", text="Down from 22:00 to 22:30 UTC."
)
print("task id:", task.task_id)
bulk = (await task.wait_result(timeout=60)).return_value
print({key: bulk[key] for key in ("recipients", "sent", "failed", "skipped")})
print("errors:", bulk["errors"])
arrivals = handler.arrivals[before:]
connections = len({port for _, port in arrivals})
seconds = arrivals[-1][0] - arrivals[0][0]
print(f"the SMTP server received {len(arrivals)} emails in {seconds:.2f} s")
print(f"on {connections} SMTP connections (one per batch)")

# %% [markdown]
# When did they arrive? One line per SMTP connection (a batch of 25), the count of emails it
# has delivered against time since the first one arrived:

# %%
import matplotlib.pyplot as plt

t0 = arrivals[0][0]
per_connection: dict[int, list[float]] = {}
for at, port in arrivals:
    per_connection.setdefault(port, []).append(at - t0)
fig, ax = plt.subplots(figsize=(9, 3.5))
for n, times in enumerate(per_connection.values(), start=1):
    ax.step(times, range(1, len(times) + 1), where="post", label=f"connection {n}")
ax.set_xlabel("seconds since the first email arrived")
ax.set_ylabel("emails delivered")
ax.set_title(f"{len(arrivals)} emails, batches of 25, at most 4 connections at once")
ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout()
plt.show()

# %% [markdown]
# Four batches run side by side; as one ends, the next starts on a new connection. The
# batch with the invalid address delivers 24. Raise `EMAIL_CONCURRENCY` for a server that
# takes more connections at once; the reader and the senders share a bounded queue, so
# however long the list, only a few batches are in memory.
#
# ## Clean up
#
# Disconnect the client, then stop the worker (SIGTERM, as `docker stop` would), the SMTP
# server, and remove the folder.

# %%
await api.aclose()
await email_broker.shutdown()
await engine.dispose()
cleanup.close()
print("worker stopped, exit code", worker.returncode)
