"""The users feature's emails, sent by this feature's tasks (see ``users/mailer.py``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import HTTPException, Request, status

from reference_app.modules.email.ratelimit import limit_email_request
from reference_app.modules.email.tasks import (
    send_password_reset_email_task,
    send_verification_email_task,
    send_welcome_email_task,
)
from taskiq_extras.health import BrokerUnavailable, enqueue

logger = logging.getLogger(__name__)


async def enqueue_or_503(task: Any, **kwargs: Any) -> str:
    """Enqueue ``task``; its task id, or a 503 within 2 s when the broker is down."""
    try:
        return (await enqueue(task.kicker(), **kwargs)).task_id
    except BrokerUnavailable as exc:  # answered within 2 s, never a hanging request
        logger.error("Could not enqueue %s: %s", task.task_name, exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the task broker is unavailable, try again"
        ) from None


class AccountEmails:
    """An ``AccountMailer``: each email is a task of this feature, enqueued."""

    def check_limit(self, request: Request, address: str) -> None:
        limit_email_request(request, address)

    async def welcome(self, user_id: int) -> str:
        return await enqueue_or_503(send_welcome_email_task, user_id=user_id)

    async def verification(self, user_id: int) -> str:
        return await enqueue_or_503(send_verification_email_task, user_id=user_id)

    async def password_reset(self, user_id: int) -> str:
        return await enqueue_or_503(send_password_reset_email_task, user_id=user_id)
