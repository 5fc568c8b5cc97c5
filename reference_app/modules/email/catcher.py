"""The local mail catcher of ``make run``: an SMTP server that keeps every email it receives.

    python -m reference_app.modules.email.catcher [--host 127.0.0.1] [--port 1025]

It accepts any email over plain SMTP (aiosmtpd) and stores it in a SQLite file
(``MAIL_CATCHER_PATH``); the app's ``/mail`` page lists them. Nothing is delivered anywhere:
it is for development only. ``make run`` starts it when ``SMTP_HOST`` is this machine and
nothing listens on ``SMTP_PORT`` yet (a Mailpit you started yourself is left alone).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    mail_from   TEXT NOT NULL,
    rcpt_to     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    raw         BLOB NOT NULL
)
"""


@dataclass(frozen=True)
class StoredMessage:
    id: int
    received_at: str
    mail_from: str
    rcpt_to: str
    subject: str
    raw: bytes

    def parsed(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)  # type: ignore[return-value]

    def part(self, subtype: str) -> str | None:
        body = self.parsed().get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else None


class MailStore:
    """The catcher's SQLite file: written by the catcher, read by the app's /mail page."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(SCHEMA)

    def add(self, mail_from: str, rcpt_to: list[str], raw: bytes) -> int:
        headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO messages (received_at, mail_from, rcpt_to, subject, raw) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    mail_from,
                    ", ".join(rcpt_to),
                    str(headers.get("Subject", "")),
                    raw,
                ),
            )
            return int(cursor.lastrowid or 0)

    def list(self, limit: int = 200) -> list[StoredMessage]:
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, received_at, mail_from, rcpt_to, subject, raw FROM messages "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [StoredMessage(*row) for row in rows]

    def get(self, message_id: int) -> StoredMessage | None:
        if not self.path.exists():
            return None
        with self._connect() as db:
            row = db.execute(
                "SELECT id, received_at, mail_from, rcpt_to, subject, raw FROM messages "
                "WHERE id = ?",
                (message_id,),
            ).fetchone()
        return StoredMessage(*row) if row else None


class CatchingHandler:
    """aiosmtpd handler: store every message, accept it."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook name
        raw = envelope.original_content or envelope.content
        await asyncio.to_thread(self.store.add, envelope.mail_from, envelope.rcpt_tos, raw)
        return "250 Message accepted"


def main(argv: list[str] | None = None) -> int:
    from aiosmtpd.controller import Controller

    from reference_app.modules.email.settings import get_email_settings

    settings = get_email_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.SMTP_PORT)
    parser.add_argument("--path", default=str(settings.MAIL_CATCHER_PATH))
    args = parser.parse_args(argv)

    store = MailStore(args.path)
    store.create()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    controller = Controller(CatchingHandler(store), hostname=args.host, port=args.port)
    controller.start()  # a thread of its own runs the SMTP server
    print(f"mail catcher: smtp://{args.host}:{args.port}, keeping emails in {args.path}",
          flush=True)  # fmt: skip
    try:
        stop.wait()
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
