"""Building a safe multipart email: validated headers, text and HTML from Jinja2 templates."""

from __future__ import annotations

import hashlib
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from email_validator import EmailNotValidError, validate_email
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


class InvalidEmailError(ValueError):
    """An address, a name or a subject that cannot go into an email: never retried."""


CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# --8<-- [start:templates]
templates = Environment(
    loader=PackageLoader("reference_app.modules.email", "templates"),
    autoescape=select_autoescape(["html"]),  # a user's name like <b> is shown, never run
    undefined=StrictUndefined,  # a missing variable is an error, not an empty string
)


def render(template: str, **context: Any) -> tuple[str, str]:
    """The text and HTML parts of ``template``: ``<template>.txt`` and ``<template>.html``."""
    text = templates.get_template(f"{template}.txt").render(**context)
    html = templates.get_template(f"{template}.html").render(**context)
    return text, html


# --8<-- [end:templates]


# --8<-- [start:headers]
def header_text(field: str, value: str) -> str:
    """Refuse CR, LF and other control characters: in a header they would start new headers
    (``Subject: hi\\r\\nBcc: everyone@example.com``)."""
    if CONTROL.search(value):
        raise InvalidEmailError(f"{field} contains a control character (CR/LF): refused")
    return value


def checked_address(addr: str, name: str | None = None, field: str = "to") -> Address:
    header_text(f"{field} name", name or "")
    header_text(f"{field} address", addr)
    try:
        valid = validate_email(addr, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmailError(f"{field} address {addr!r} is not valid: {exc}") from None
    return Address(display_name=name or "", addr_spec=valid.normalized)


# --8<-- [end:headers]


def parse_sender(value: str) -> Address:
    """``SMTP_FROM``, "Name <address>" or a bare address."""
    name, addr = parseaddr(value)
    return checked_address(addr, name, field="from")


# --8<-- [start:build_message]
def build_message(
    *,
    sender: str,
    to: str,
    to_name: str | None,
    subject: str,
    text: str,
    html: str | None,
    idempotency_key: str,
) -> EmailMessage:
    sender_address = parse_sender(sender)
    message = EmailMessage()
    message["From"] = sender_address
    message["To"] = checked_address(to, to_name)
    message["Subject"] = header_text("subject", subject)
    # The same email sent again (it should not be, but see docs) carries the same Message-ID.
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@{sender_address.domain}>"
    message.set_content(text)  # text/plain first: the fallback
    if html is not None:
        message.add_alternative(html, subtype="html")  # multipart/alternative
    return message


# --8<-- [end:build_message]
