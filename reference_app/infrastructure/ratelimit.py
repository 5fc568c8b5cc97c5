"""Core: a sliding-window rate limiter, per key (an address, an account, a client IP).

It lives in one web process's memory: with several web processes each counts on its own, so
the real limit is N times the setting. Use a shared store (Redis) for a strict limit across
processes. Features own their limits and settings (``email/ratelimit.py``, users' login).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

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

    def forget_one(self, key: str) -> None:
        """Take back ``key``'s latest hit (an attempt that turned out not to count)."""
        if hits := self._hits.get(key):
            hits.pop()

    def clear(self) -> None:
        self._hits.clear()
