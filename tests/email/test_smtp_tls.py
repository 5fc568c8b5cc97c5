"""SMTP_TLS=starttls and SMTP_TLS=tls against a real aiosmtpd server with a certificate.

The certificate comes from a throwaway CA (trustme); the client trusts it only through
SMTP_CA_FILE, the way a private relay's CA would be configured. The server requires TLS
before it takes a login or a message, so a message that arrives proves the channel was
encrypted, and the test also reads the TLS session off the server's side.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from reference_app.modules.email.message import build_message
from reference_app.modules.email.sender import PermanentSMTPError, smtp_connection, transmit
from reference_app.modules.email.settings import EmailSettings
from tests.support.processes import free_port

USER, PASSWORD = "relay-user", "relay-pa55word"


class TlsRecordingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, object]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        ssl_object = server.transport.get_extra_info("ssl_object")
        with self.lock:
            self.messages.append({
                "to": tuple(envelope.rcpt_tos),
                "tls_version": ssl_object.version() if ssl_object else None,
                "login": session.auth_data if session.authenticated else None,
            })  # fmt: skip
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(), auth_data.password.decode()) == (USER, PASSWORD)  # fmt: skip
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@contextmanager
def tls_server(ca: trustme.CA, mode: str) -> Iterator[tuple[int, TlsRecordingHandler]]:
    handler, port = TlsRecordingHandler(), free_port()
    context = server_context(ca)
    tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    if mode == "tls":  # TLS from the first byte (aiosmtpd only knows STARTTLS as "TLS")
        tls = {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
        **tls,
    )  # fmt: skip
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def relay_settings(port: int, mode: str, **overrides: object) -> EmailSettings:
    values = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_TLS": mode,
              "SMTP_USER": USER, "SMTP_PASSWORD": PASSWORD, "SMTP_TIMEOUT": 5}  # fmt: skip
    return EmailSettings(_env_file=None, **{**values, **overrides})


async def send_one(settings: EmailSettings, to: str) -> list[str]:
    committed: list[str] = []
    message = build_message(sender="App <app@example.com>", to=to, to_name="Ada",
                            subject="Over TLS", text="hello", html="<p>hello</p>",
                            idempotency_key=f"tls:{to}")  # fmt: skip

    async def commit_sent() -> None:
        committed.append(to)

    async with smtp_connection(settings) as smtp:
        await transmit(smtp, message, commit_sent)
    return committed


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_the_email_goes_over_tls_with_a_login_and_a_checked_certificate(ca, ca_file, mode):
    with tls_server(ca, mode) as (port, handler):
        committed = await send_one(relay_settings(port, mode, SMTP_CA_FILE=ca_file), "ada@x.org")
    assert committed == ["ada@x.org"]
    (received,) = handler.messages
    assert received["to"] == ("ada@x.org",)
    assert str(received["tls_version"]).startswith("TLSv1.")
    assert received["login"] == USER.encode()


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_an_untrusted_certificate_is_refused_and_nothing_is_sent(ca, mode):
    """Without SMTP_CA_FILE the throwaway CA is unknown: the connection fails, no fallback."""
    refused = pytest.raises(Exception, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed")
    with tls_server(ca, mode) as (port, handler), refused:
        await send_one(relay_settings(port, mode), "ada@x.org")
    assert handler.messages == []


async def test_plain_smtp_to_a_server_that_requires_tls_is_refused_not_sent(ca, ca_file):
    """SMTP_TLS=none never upgrades by itself: the server refuses, and nothing is sent."""
    settings = {"SMTP_USER": None, "SMTP_PASSWORD": None}
    with (
        tls_server(ca, "starttls") as (port, handler),
        pytest.raises(PermanentSMTPError, match="530"),
    ):
        await send_one(relay_settings(port, "none", **settings), "ada@x.org")
    assert handler.messages == []
