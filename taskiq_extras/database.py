"""Extras: the engine helpers the extras' own tables use.

The run recorder and the database result backend open their own engine on the app's
``DATABASE_URL``; these two helpers keep them independent of any app's database module.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .sqlite_writer import SQLiteWriter, sqlite_file

# The largest INTEGER SQLite (and PostgreSQL's BIGINT) holds: a larger id is refused early.
MAX_ROW_ID = 2**63 - 1

# The extras' own tables (task runs, results): an app creates or migrates them with its own.
metadata = MetaData()


def create_engine(url: str) -> AsyncEngine:
    """An async engine; a SQLite file gets WAL and a busy timeout, as several processes write."""
    path = sqlite_file(url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

    return engine


async def open_tables(url: str) -> tuple[AsyncEngine, SQLiteWriter | None]:
    """An engine on ``url`` with the extras' tables created, and, on a SQLite file, a
    ``SQLiteWriter`` that runs the hot writes on the event loop instead of a thread."""
    engine = create_engine(url)
    await create_tables(engine, metadata)
    path = sqlite_file(url)
    return engine, (SQLiteWriter(path) if path is not None else None)


async def create_tables(engine: AsyncEngine, metadata: MetaData) -> None:
    """Create missing tables; another process creating one at the same moment is not an error."""
    for attempt in range(5):
        try:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all, checkfirst=True)
            return
        except OperationalError as exc:
            if "already exists" not in str(exc) or attempt == 4:
                raise
