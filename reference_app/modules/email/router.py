"""The email feature's routes: notifications to users, and ``/mail``, the local mail catcher.

``/mail`` shows the emails the catcher received, server-rendered, no JavaScript.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import get_request_session
from reference_app.infrastructure.database.types import MAX_ROW_ID
from reference_app.infrastructure.security import require_admin, require_development
from reference_app.modules.email.accounts import enqueue_or_503
from reference_app.modules.email.catcher import MailStore
from reference_app.modules.email.message import templates
from reference_app.modules.email.ratelimit import limit_email_request
from reference_app.modules.email.schemas import Notification, Queued
from reference_app.modules.email.settings import get_email_settings
from reference_app.modules.email.tasks import (
    send_notification_email_task,
    send_system_wide_notification_emails_task,
)
from reference_app.modules.users import service as users

# The catcher holds every email the app sent, password-reset links included: development only,
# and only to this machine's own connections (see infrastructure/security.py).
router = APIRouter(
    prefix="/mail", tags=["mail catcher"], dependencies=[Depends(require_development)]
)
notifications = APIRouter(prefix="/users", tags=["notifications"])
UserId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]  # larger: 422, not a driver error


def _store() -> MailStore:
    return MailStore(get_email_settings().MAIL_CATCHER_PATH)


@router.get("", response_class=HTMLResponse)
async def mailbox() -> str:
    settings = get_email_settings()
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
async def mail_message(message_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)]) -> HTMLResponse:
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


@notifications.post(
    "/{user_id}/notifications",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Queued,
    dependencies=[Depends(require_admin)],  # mail to someone else: admin only, and limited
)
async def notify_user(
    user_id: UserId,
    data: Notification,
    request: Request,
    db: AsyncSession = Depends(get_request_session),
) -> Queued:
    user = await users.get(db, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {user_id} not found")
    limit_email_request(request, user.email)
    task_id = await enqueue_or_503(send_notification_email_task, user_id=user_id,
                             subject=data.subject, message=data.message)  # fmt: skip
    return Queued(task_id=task_id)


# --8<-- [start:broadcast]
@notifications.post("/broadcast", status_code=status.HTTP_202_ACCEPTED, response_model=Queued)
async def broadcast(data: Notification, x_admin_token: str | None = Header(None)) -> Queued:
    """Notify every active user. Needs the `X-Admin-Token` header to equal `ADMIN_TOKEN`."""
    expected = get_settings().ADMIN_TOKEN
    if expected is None or not expected.get_secret_value():  # empty is off, never "no token"
        raise HTTPException(status.HTTP_403_FORBIDDEN, "broadcasts are off: set ADMIN_TOKEN")
    if not hmac.compare_digest((x_admin_token or "").encode(),
                               expected.get_secret_value().encode()):  # fmt: skip
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid X-Admin-Token is needed")
    task_id = await enqueue_or_503(send_system_wide_notification_emails_task,
                             subject=data.subject, message=data.message)  # fmt: skip
    return Queued(task_id=task_id)


# --8<-- [end:broadcast]
