"""A small in-process rate limiter for routes that send email (sign-up, resend, reset).

Sliding window per key (an address, a client IP). It lives in the web process's memory: with
several web processes each counts on its own, so the real limit is N times the setting. Use a
shared store (Redis) for a strict limit across processes.
"""

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
