"""Wait on a condition with a deadline (never a bare sleep standing in for synchronisation)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    pass


def wait_for(
    predicate: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = ""
) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise WaitTimeout(
        f"timed out after {timeout:g} s waiting for {what or predicate}; last={last!r}"
    )


async def async_wait_for(
    predicate: Callable[[], Awaitable[T]],
    *,
    timeout: float,
    interval: float = 0.05,
    what: str = "",
) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise WaitTimeout(
        f"timed out after {timeout:g} s waiting for {what or predicate}; last={last!r}"
    )
