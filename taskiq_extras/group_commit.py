"""Extras: group commit: writes that arrive while one is running share the next transaction.

Each caller still waits until its own item is committed, so nothing is reported written
before it is; but a busy process pays one commit for many items instead of one each.

Writes that merely *follow* each other do not overlap, so on their own they seldom share a
commit: a worker finishes its tasks one after another, and each ack found the previous write
done (1 to 2 items per write, counted in a drain). ``min_interval`` spaces the writes out: a
write that comes less than ``min_interval`` after the previous one waits for the rest of it,
and everything that arrives meanwhile joins it. A quiet process writes at once, as before; a
busy one writes at most once per interval, each item waiting at most that long.

Used by the database result backend, the email tasks' "sent" marks, and the SQLite and Redis
brokers' acknowledgements and results.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
logger = logging.getLogger(__name__)

# The brokers' acks and results, and the database result backend: under load, at most one
# write per 5 ms. In a 2-process SQLite drain a commit carried one task's result and ack; with
# this, about 9 tasks' (18.5 items), and 1,834 tasks/s became 3,117 (Redis: 7 tasks per
# pipeline, 1,643 -> 2,297 tasks/s). An ack waits at most this long.
WRITE_INTERVAL = 0.005


# --8<-- [start:group_commit]
class GroupCommit(Generic[Item]):
    """``await submit(item)`` returns once ``write`` has committed a batch holding ``item``."""

    def __init__(
        self, write: Callable[[list[Item]], Awaitable[None]], *, min_interval: float = 0.0
    ) -> None:
        self._write = write
        self.min_interval = min_interval  # seconds between the starts of two writes, at least
        self._last_write = float("-inf")  # loop.time() when the last write started
        self._waiting: list[tuple[Item, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> None:
        await self.submit_nowait(item)

    def submit_nowait(self, item: Item) -> asyncio.Future[None]:
        """Queue ``item`` for the next write; the future is done once it is written."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return done

    def submit_detached(self, item: Item, what: str) -> None:
        """Queue ``item`` for the next write without waiting; a failure is logged."""

        def log_failure(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is not None:
                logger.error("Could not store %s: %s", what, done.exception())

        self.submit_nowait(item).add_done_callback(log_failure)

    async def flush(self) -> None:
        """Return once everything queued so far is written (or has failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def _write_waiting(self) -> None:
        while self._waiting:
            if self.min_interval:
                loop = asyncio.get_running_loop()
                pause = self._last_write + self.min_interval - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                self._last_write = loop.time()
            batch, self._waiting = self._waiting, []
            error: Exception | None = None
            try:
                await self._write([item for item, _ in batch])
            except Exception as exc:  # every caller of this batch gets the error
                error = exc
            for _, done in batch:
                if done.done():  # its caller was cancelled meanwhile
                    continue
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)


# --8<-- [end:group_commit]
