"""The email feature's limits for routes that send email (sign-up, resend, reset, notify):
per address and per client, with infrastructure's in-process sliding-window limiter."""

from __future__ import annotations

import math

from fastapi import HTTPException, Request, status

from reference_app.infrastructure.ratelimit import SlidingWindowLimiter
from reference_app.modules.email.settings import get_email_settings

LIMITER = SlidingWindowLimiter()


def limit_email_request(request: Request, address: str) -> None:
    """429 with Retry-After once an address, or a client, asked for too many emails."""
    settings = get_email_settings()
    window = settings.EMAIL_RATE_LIMIT_WINDOW_SECONDS
    client = request.client.host if request.client else "unknown"
    checks = (
        (f"address:{address.strip().lower()}", settings.EMAIL_RATE_LIMIT_PER_ADDRESS),
        (f"client:{client}", settings.EMAIL_RATE_LIMIT_PER_CLIENT),
    )
    for key, limit in checks:
        wait = LIMITER.retry_after(key, limit, window)
        if wait is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "too many email requests; try again later",
                headers={"Retry-After": str(math.ceil(wait))},
            )
