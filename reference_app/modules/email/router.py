"""``/mail``: the emails the local mail catcher received, server-rendered, no JavaScript."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse

from reference_app.infrastructure.config import get_settings
from reference_app.modules.email.catcher import MailStore
from reference_app.modules.email.message import templates

router = APIRouter(prefix="/mail", tags=["mail catcher"])


def _store() -> MailStore:
    return MailStore(get_settings().MAIL_CATCHER_PATH)


@router.get("", response_class=HTMLResponse)
async def mailbox() -> str:
    settings = get_settings()
    store = _store()
    messages = await asyncio.to_thread(store.list)
    return templates.get_template("mailbox.html").render(
        messages=messages,
        exists=store.path.exists(),
        path=str(store.path),
        smtp=f"{settings.SMTP_HOST}:{settings.SMTP_PORT}",
    )


# --8<-- [start:mail_message]
@router.get("/{message_id}", response_class=HTMLResponse)
async def mail_message(message_id: int) -> HTMLResponse:
    message = await asyncio.to_thread(_store().get, message_id)
    if message is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no message {message_id}")
    parsed = message.parsed()
    page = templates.get_template("mail_message.html").render(
        m=message,
        html=message.part("html"),  # goes into <iframe sandbox srcdoc="...">, escaped
        text=message.part("plain"),
        headers="\n".join(f"{k}: {v}" for k, v in parsed.items()),
    )
    # No script may run on this page, whatever an email contains.
    return HTMLResponse(page, headers={"Content-Security-Policy": "script-src 'none'"})


# --8<-- [end:mail_message]
