"""Extras: short SQLite write transactions on the event loop; only the lock wait is awaited.

A write of a few rows takes SQLite tens of microseconds. Run through a thread (aiosqlite, or
SQLAlchemy on top of it) each statement also waits for the GIL while the event loop runs other
tasks, and SQLite's own busy handler sleeps 1, 2, 5, 10 ms between tries for a lock another
process holds for far less: in a busy worker, most of a write's time. ``SQLiteWriter`` runs the
statements right on the loop, on a plain ``sqlite3`` connection in WAL mode, and awaits only
the write lock: ``BEGIN IMMEDIATE`` without a busy timeout, tried again after 0.1 to 2 ms while
other tasks run. Once it holds the lock, nothing in WAL mode waits. Used by the SQLite broker
and, on a SQLite database, by the result backend and the run recorder.

The price: SQLite's automatic checkpoint (when the WAL passes 1,000 pages) runs inside the
commit that crosses it, so now and then one commit copies pages back to the file, on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

T = TypeVar("T")


def sqlite_file(database_url: str) -> str | None:
    """The file of a SQLite ``database_url``; None for any other database, or one in memory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return url.database
    return None


# --8<-- [start:writer]
class SQLiteWriter:
    """``await writer.run(work, *args)``: ``work(connection, *args)`` in one write transaction."""

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 30.0) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self._connection: sqlite3.Connection | None = None

    @property
    def connection(self) -> sqlite3.Connection:
        """Opened on first use (a process that never writes never opens it)."""
        if self._connection is None:
            self._connection = sqlite3.connect(self.path, isolation_level=None, timeout=0)
            self._connection.execute("PRAGMA synchronous=NORMAL")
        return self._connection

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        db = self.connection
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.0001
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:  # "database is locked": another writer
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.002)
        try:  # no await from here to COMMIT: nothing else runs inside the transaction
            result = work(db, *args)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                db.execute("ROLLBACK")
            raise
        return result

    # --8<-- [end:writer]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
