"""A real SMTP server (aiosmtpd) in the test process, on a free port, that keeps what it gets.

Addresses starting with ``reject`` are refused with ``550`` at RCPT, like a mailbox that
does not exist, so tests can see one bad address fail alone.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller

from tests.support.processes import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str | None:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else None


class RecordingHandler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.lower().startswith("reject"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        with self._lock:
            self._received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), parsed)  # type: ignore[arg-type]
            )
        return "250 OK"

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)


class SmtpServer:
    def __init__(self, port: int, smtputf8: bool = False) -> None:
        self.port = port
        self.handler = RecordingHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port,
                                     enable_SMTPUTF8=smtputf8)  # fmt: skip

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def received(self) -> list[Received]:
        return self.handler.received()

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received() if address in r.rcpt_tos]

    def per_recipient(self) -> Counter[str]:
        return Counter(rcpt for r in self.received() for rcpt in r.rcpt_tos)

    def settings(self) -> dict[str, object]:
        """Settings overrides for the worker and the API processes."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_TLS": "none"}


@contextmanager
def smtp_server(port: int | None = None, smtputf8: bool = False) -> Iterator[SmtpServer]:
    server = SmtpServer(port or free_port(), smtputf8).start()
    try:
        yield server
    finally:
        server.stop()
