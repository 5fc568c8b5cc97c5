"""python -m recipes.email_tasks: queue emails from routes; a worker sends them to a local
SMTP server, which shows what it received."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from reference_app.modules.email.catcher import CatchingHandler, MailStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ONE_EMAIL = {
    "to": "ada@example.com",
    "subject": "Your export is ready",
    "text": "Hello Ada,\n\nyour export is ready to download.",
}
NEWSLETTER = {
    "recipients": ["bob@example.com", "cy@example.com"],
    "subject": "Maintenance tonight",
    "text": "The service is down from 22:00 to 22:30 UTC.",
}


async def wait_until_done(client: httpx.AsyncClient, status_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = (await client.get(status_url)).json()
        if state["status"] != "pending":
            return state
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{status_url} still pending after 60 s: is the worker running?")


async def send_through_the_routes(store: MailStore) -> None:
    # Imported only now: the settings are read from the environment set in main().
    from recipes.email_tasks.app import app, lifespan
    from reference_app.infrastructure.taskiq import run_worker
    from taskiq_extras.processes import worker_process

    async with lifespan(app):  # starts the broker's client side, as uvicorn would
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://recipe") as client:
            with worker_process(run_worker):  # the worker entry imports the email tasks
                # --8<-- [start:call]
                one = await client.post("/emails", json=ONE_EMAIL)
                many = await client.post("/emails/bulk", json=NEWSLETTER)
                bad = await client.post("/emails", json={**ONE_EMAIL, "to": "ada.example.com"})
                # --8<-- [end:call]
                print(f"POST /emails -> {one.status_code}, task {one.json()['task_id']}")
                print(f"POST /emails/bulk -> {many.status_code}, task {many.json()['task_id']}")
                reason = bad.json()["detail"][0]["msg"]
                print(f"POST /emails to 'ada.example.com' -> {bad.status_code} ({reason}):")
                print("  refused before anything was queued")
                for response in (one, many):
                    state = await wait_until_done(client, response.json()["status_url"])
                    print(f"task …{state['task_id'][-8:]}: {state['sent']} sent, "
                          f"{state['failed']} failed")  # fmt: skip
    received = sorted(store.list(), key=lambda m: m.rcpt_to)  # the tasks run concurrently
    print(f"the SMTP server received {len(received)} emails:")
    for mail in received:
        parts = " + ".join(f"text/{name}" for name in ("plain", "html") if mail.part(name))
        print(f"  to {mail.rcpt_to}: {mail.subject!r}, parts: {parts}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # --8<-- [start:catcher]
        # The local mail catcher: an SMTP server in a thread of this process, keeping what it
        # receives in a SQLite file (the same catcher `make run` starts).
        store = MailStore(Path(tmp) / "mail.db")
        store.create()
        port = free_port()
        catcher = Controller(CatchingHandler(store), hostname="127.0.0.1", port=port)
        catcher.start()
        # Settings come from the environment: set them before anything reads them. The
        # worker process inherits them, so it sends to this catcher.
        os.environ.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_TLS="none")
        # --8<-- [end:catcher]
        print(f"mail catcher listening on smtp://127.0.0.1:{port}")
        try:
            asyncio.run(send_through_the_routes(store))
        finally:
            catcher.stop()


if __name__ == "__main__":
    main()
