"""Talking SMTP with aiosmtplib: one connection per batch, and a commit point per email.

``transmit`` records an email as sent right after the server's final "250" for it, before
the next email goes out on that connection. So if the worker is killed:

* before the 250, the row still says ``pending``: the redelivered task sends it again;
* after the commit, the row says ``sent`` and the redelivered task skips it;
* in the instant between the two, the email went out and the row says ``pending``: the
  redelivered task sends a copy with the same Message-ID, which mail systems drop.

No email is ever lost; at most one per open connection is sent twice on the wire.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.message import Message
from email.policy import compat32

import aiosmtplib
from aiosmtplib import SMTPResponseException

from reference_app.modules.email.message import envelope
from reference_app.modules.email.settings import EmailSettings

_LEADING_DOT = re.compile(rb"(?m)^\.")
SMTP_LINES = compat32.clone(linesep="\r\n")  # headers were encoded when the message was built


class PermanentSMTPError(Exception):
    """The server refused this email for good (a 5xx answer): do not try it again."""


class InDoubtError(Exception):
    """The connection broke after the email's last line was written: it may have arrived."""


# --8<-- [start:connect]
@asynccontextmanager
async def smtp_connection(settings: EmailSettings) -> AsyncIterator[aiosmtplib.SMTP]:
    """An open, logged-in SMTP connection, as ``SMTP_TLS`` asks: none, starttls or tls."""
    password = settings.SMTP_PASSWORD.get_secret_value() if settings.SMTP_PASSWORD else None
    smtp = aiosmtplib.SMTP(
        hostname=settings.SMTP_HOST,
        port=settings.SMTP_PORT,
        timeout=settings.SMTP_TIMEOUT,
        use_tls=settings.SMTP_TLS == "tls",  # implicit TLS from the first byte (port 465)
        start_tls=settings.SMTP_TLS == "starttls",  # False, not None: None means "if offered"
        # Certificates are always checked; a private relay's CA can be added with SMTP_CA_FILE.
        cert_bundle=str(settings.SMTP_CA_FILE) if settings.SMTP_CA_FILE else None,
    )
    await smtp.connect()
    try:
        if settings.SMTP_USER:
            await smtp.login(settings.SMTP_USER, password or "")
        yield smtp
    finally:
        try:
            await smtp.quit()
        except Exception:
            smtp.close()


# --8<-- [end:connect]


def _refused(exc: SMTPResponseException) -> Exception:
    if 500 <= exc.code < 600:
        return PermanentSMTPError(f"refused by the SMTP server: {exc.code} {exc.message}")
    return exc  # 4xx: try again later


async def _reset(smtp: aiosmtplib.SMTP) -> None:
    """RSET after a refusal; a server that refuses that too must not hide the first answer."""
    with contextlib.suppress(SMTPResponseException):
        await smtp.rset()


# --8<-- [start:transmit]
async def transmit(
    smtp: aiosmtplib.SMTP, message: Message, commit_sent: Callable[[], Awaitable[None]]
) -> None:
    """Send ``message``; ``commit_sent`` records it as sent once the server accepted it."""
    sender, recipient = envelope(message)
    utf8 = not recipient.isascii()
    if utf8 and not smtp.supports_extension("smtputf8"):
        raise PermanentSMTPError(
            f"{recipient!r} has a non-ASCII local part and the SMTP server does not offer "
            "SMTPUTF8: this address fails alone"
        )
    encoding = {"encoding": "utf-8", "options": ["SMTPUTF8"]} if utf8 else {}
    try:
        await smtp.mail(sender, **encoding)
        await smtp.rcpt(recipient, encoding="utf-8" if utf8 else "ascii")
        start = await smtp.execute_command(b"DATA")
    except SMTPResponseException as exc:
        await _reset(smtp)  # the connection stays usable for the next recipient
        raise _refused(exc) from None
    if start.code != 354:
        await _reset(smtp)
        raise _refused(SMTPResponseException(start.code, start.message))
    payload = message.as_bytes(policy=message.policy if utf8 else SMTP_LINES)
    payload = _LEADING_DOT.sub(b"..", payload.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    try:
        smtp.protocol.write(payload + b".\r\n")
        reply = await smtp.protocol.read_response(timeout=smtp.timeout)
    except Exception as exc:
        raise InDoubtError(f"{type(exc).__name__}: {exc}") from None
    if reply.code != 250:
        raise _refused(SMTPResponseException(reply.code, reply.message))
    # Recorded only once the server took it: a crash before this line sends it again (with
    # the same Message-ID, which mail systems use to drop the copy), never loses it.
    await commit_sent()


# --8<-- [end:transmit]
