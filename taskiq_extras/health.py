"""Extras: the broker's health as the web process sees it, and enqueueing that fails fast.

The API starts even when its broker is down: it logs one warning naming the settings to
check, then keeps reconnecting in the background. Meanwhile, and whenever the broker goes
away later, ``enqueue`` answers within ``ENQUEUE_TIMEOUT`` with ``BrokerUnavailable``, which
routes turn into a 503, instead of hanging the request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

logger = logging.getLogger(__name__)
ENQUEUE_TIMEOUT = 2.0  # seconds: a request never waits longer than this for the broker


class BrokerUnavailable(RuntimeError):
    """The task could not be enqueued: the broker is down or does not answer in time."""


@dataclass
class BrokerState:
    ready: bool = False
    last_error: str | None = None


STATE = BrokerState()


async def start_or_keep_trying(start: Callable[[], Awaitable[None]]) -> asyncio.Task | None:
    """``await start()`` (the broker client's start); if it fails, warn once and retry in the
    background. ``start`` raises an error whose message says what to check."""
    try:
        await start()
    except Exception as exc:
        STATE.ready, STATE.last_error = False, str(exc)
        logger.warning("%s The API starts anyway: enqueueing answers 503 until it is back.", exc)
        return asyncio.get_running_loop().create_task(_reconnect(start))
    STATE.ready, STATE.last_error = True, None
    return None


async def _reconnect(start: Callable[[], Awaitable[None]]) -> None:
    delay = 1.0
    while True:
        await asyncio.sleep(delay)
        try:
            await start()
        except Exception as exc:
            STATE.last_error = str(exc)
            delay = min(delay * 2, 15.0)
            continue
        STATE.ready, STATE.last_error = True, None
        logger.warning("The task broker is back: enqueueing works again.")
        return


async def enqueue(kicker: AsyncKicker[Any, Any], *args: Any, **kwargs: Any) -> Any:
    """``kicker.kiq(...)`` that gives up after ENQUEUE_TIMEOUT with ``BrokerUnavailable``."""
    if not STATE.ready:
        raise BrokerUnavailable(STATE.last_error or "the task broker is not started")
    try:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for runs the kiq in a task of its
        # own, which a request pays for on every enqueue.
        async with asyncio.timeout(ENQUEUE_TIMEOUT):
            return await kicker.kiq(*args, **kwargs)
    except TimeoutError:
        raise BrokerUnavailable(f"the broker did not answer within {ENQUEUE_TIMEOUT:g} s") from None
    except Exception as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, TypeError):  # e.g. a non-JSON argument: a bug, not an outage
            raise
        raise BrokerUnavailable(f"{type(cause).__name__}: {cause}") from exc


async def probe(broker: AsyncBroker, timeout: float = 2.0) -> dict[str, Any]:
    """The broker's state and latency for the readiness endpoint."""
    started = time.perf_counter()
    ping = getattr(broker, "ping", None)
    try:
        if not STATE.ready:
            raise ConnectionError(STATE.last_error or "not started")
        if ping is not None:
            await asyncio.wait_for(ping(), timeout)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
