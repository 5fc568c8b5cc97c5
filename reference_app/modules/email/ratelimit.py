"""A small in-process rate limiter for routes that send email (sign-up, resend, reset).

Sliding window per key (an address, a client IP). It lives in the web process's memory: with
several web processes each counts on its own, so the real limit is N times the setting. Use a
shared store (Redis) for a strict limit across processes.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque

from fastapi import HTTPException, Request, status

from reference_app.modules.email.settings import get_email_settings

MAX_KEYS = 50_000  # bounded memory: the least recently seen keys are forgotten first


class SlidingWindowLimiter:
    def __init__(self) -> None:
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, limit: int, window: float) -> float | None:
        """Record a hit for ``key``; None if allowed, else seconds until the next is."""
        now = time.monotonic()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - window:
            hits.popleft()
        self._hits[key] = hits  # most recently seen last
        if len(self._hits) > MAX_KEYS:
            self._hits.popitem(last=False)
        if len(hits) >= limit:
            return hits[0] + window - now
        hits.append(now)
        return None

    def clear(self) -> None:
        self._hits.clear()


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
