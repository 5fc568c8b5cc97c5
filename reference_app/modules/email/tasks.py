"""The seven email tasks of FastroAI's Background Tasks page.

Each one builds the emails and hands them to ``service.send_batch`` (one email) or
``service.send_batches`` (many), which record every email in ``email_deliveries`` under an
idempotency key before sending it. A task delivered twice (a worker died, a lease ran out)
finds its emails already recorded as sent and skips them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import Context, TaskiqDepends

from reference_app.infrastructure.taskiq import email_broker, register_task
from reference_app.infrastructure.taskiq.deps import get_db_session, task_sessionmaker
from reference_app.modules.email.message import render
from reference_app.modules.email.service import Outgoing, chunks, send_batch, send_batches
from reference_app.modules.email.settings import get_email_settings
from reference_app.modules.users import service as users
from reference_app.modules.users.security import issue_token, password_fingerprint
from reference_app.modules.users.settings import get_users_settings


def _task_id(context: Context) -> str:
    return context.message.task_id


async def _send_one(item: Outgoing) -> dict[str, Any]:
    totals = await send_batch(get_email_settings(), task_sessionmaker(), [item])
    return {"campaign": item.campaign, "to": item.to, **totals.as_dict()}


# --8<-- [start:send_email]
@email_broker.task(task_name="send_email")
async def send_email_task(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    to_name: str | None = None,
    idempotency_key: str | None = None,
    context: Context = TaskiqDepends(),
) -> dict[str, Any]:
    """Send a single email. Without ``html``, the text is also rendered as simple HTML."""
    if html is None:
        _, html = render("message", subject=subject, text=text)
    campaign = idempotency_key or f"email:{_task_id(context)}"
    return await _send_one(Outgoing(campaign, to, subject, text, html, to_name))


register_task("send_email", "email_broker", send_email_task)
# --8<-- [end:send_email]


# --8<-- [start:send_bulk_email]
@email_broker.task(task_name="send_bulk_email")
async def send_bulk_email_task(
    recipients: list[str],
    subject: str,
    text: str,
    campaign: str | None = None,
    context: Context = TaskiqDepends(),
) -> dict[str, Any]:
    """Send one email to many addresses, in batches; a bad address fails alone."""
    settings = get_email_settings()
    campaign = campaign or f"bulk:{_task_id(context)}"
    _, html = render("message", subject=subject, text=text)
    items = (Outgoing(campaign, to, subject, text, html) for to in recipients)
    totals = await send_batches(
        settings, task_sessionmaker(), chunks(items, settings.EMAIL_BATCH_SIZE), label=campaign
    )
    return {"campaign": campaign, "recipients": len(recipients), **totals.as_dict()}


register_task("send_bulk_email", "email_broker", send_bulk_email_task)
# --8<-- [end:send_bulk_email]


# --8<-- [start:send_welcome_email]
@email_broker.task(task_name="send_welcome_email")
async def send_welcome_email_task(
    user_id: int, db: AsyncSession = TaskiqDepends(get_db_session)
) -> dict[str, Any]:
    """Welcome a new user. Keyed by the user: one welcome per user, ever."""
    user = await users.get(db, user_id)
    if user is None:
        return {"status": "skipped", "reason": f"user {user_id} does not exist"}
    subject = "Welcome to the Taskiq Cookbook"
    text, html = render("welcome", name=user.name, app_url=get_users_settings().PUBLIC_BASE_URL)
    return await _send_one(Outgoing(f"welcome:{user.id}", user.email, subject, text, html,
                                    user.name))  # fmt: skip


register_task("send_welcome_email", "email_broker", send_welcome_email_task)
# --8<-- [end:send_welcome_email]


# --8<-- [start:send_verification_email]
@email_broker.task(task_name="send_verification_email")
async def send_verification_email_task(
    user_id: int,
    db: AsyncSession = TaskiqDepends(get_db_session),
    context: Context = TaskiqDepends(),
) -> dict[str, Any]:
    """A link with a signed token that proves the user owns the address."""
    settings = get_users_settings()
    user = await users.get(db, user_id)
    if user is None or user.is_verified:
        return {"status": "skipped", "reason": "no such user, or already verified"}
    token = issue_token("verify-email", {"uid": user.id, "email": user.email},
                        secret=settings.SECRET_KEY.get_secret_value())  # fmt: skip
    link = f"{settings.PUBLIC_BASE_URL}/users/verify?token={token}"
    hours = settings.VERIFY_TOKEN_MAX_AGE // 3600
    text, html = render("verification", name=user.name, link=link, hours=hours)
    item = Outgoing(f"verification:{_task_id(context)}", user.email, "Confirm your email address",
                    text, html, user.name)  # fmt: skip
    return await _send_one(item)


register_task("send_verification_email", "email_broker", send_verification_email_task)
# --8<-- [end:send_verification_email]


# --8<-- [start:send_password_reset_email]
@email_broker.task(task_name="send_password_reset_email")
async def send_password_reset_email_task(
    user_id: int,
    db: AsyncSession = TaskiqDepends(get_db_session),
    context: Context = TaskiqDepends(),
) -> dict[str, Any]:
    """A link with a signed token; it expires, and works only until the password changes."""
    settings = get_users_settings()
    user = await users.get(db, user_id)
    if user is None or not user.is_active:
        return {"status": "skipped", "reason": "no such active user"}
    token = issue_token(
        "password-reset",
        {"uid": user.id, "pw": password_fingerprint(user.password_hash)},
        secret=settings.SECRET_KEY.get_secret_value(),
    )
    link = f"{settings.PUBLIC_BASE_URL}/users/password-reset?token={token}"
    minutes = settings.RESET_TOKEN_MAX_AGE // 60
    text, html = render("password_reset", name=user.name, link=link, minutes=minutes)
    item = Outgoing(f"password-reset:{_task_id(context)}", user.email, "Reset your password",
                    text, html, user.name)  # fmt: skip
    return await _send_one(item)


register_task("send_password_reset_email", "email_broker", send_password_reset_email_task)
# --8<-- [end:send_password_reset_email]


# --8<-- [start:send_notification_email]
@email_broker.task(task_name="send_notification_email")
async def send_notification_email_task(
    user_id: int,
    subject: str,
    message: str,
    db: AsyncSession = TaskiqDepends(get_db_session),
    context: Context = TaskiqDepends(),
) -> dict[str, Any]:
    """A general notification to one user."""
    user = await users.get(db, user_id)
    if user is None or not user.is_active:
        return {"status": "skipped", "reason": "no such active user"}
    text, html = render("notification", name=user.name, subject=subject, message=message)
    item = Outgoing(f"notification:{_task_id(context)}", user.email, subject, text, html,
                    user.name)  # fmt: skip
    return await _send_one(item)


register_task("send_notification_email", "email_broker", send_notification_email_task)
# --8<-- [end:send_notification_email]


# --8<-- [start:send_system_wide]
@email_broker.task(task_name="send_system_wide_notification_emails")
async def send_system_wide_notification_emails_task(
    subject: str,
    message: str,
    campaign: str | None = None,
    context: Context = TaskiqDepends(),
) -> dict[str, Any]:
    """Notify every active user: read from the database a batch at a time, never all."""
    settings = get_email_settings()
    sessions = task_sessionmaker()
    campaign = campaign or f"broadcast:{_task_id(context)}"

    async def batches():
        async for rows in users.active_user_batches(sessions, settings.EMAIL_BATCH_SIZE):
            batch = []
            for _user_id, email, name in rows:
                text, html = render("notification", name=name, subject=subject, message=message)
                batch.append(Outgoing(campaign, email, subject, text, html, name))
            yield batch

    totals = await send_batches(settings, sessions, batches(), label=campaign)
    return {"campaign": campaign, **totals.as_dict()}


register_task(
    "send_system_wide_notification_emails",
    "email_broker",
    send_system_wide_notification_emails_task,
)
# --8<-- [end:send_system_wide]
