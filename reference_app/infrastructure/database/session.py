"""Core: the async engine and sessions of the web process.

Workers do not use this module's sessions: they get one per task from
``infrastructure/taskiq/deps.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import Request
from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from .base import Base


def _prepare_sqlite_file(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def create_engine_from_settings(url: str, *, pool_size: int | None = None) -> AsyncEngine:
    """An async engine for ``url``: ``pool_size`` 0 is ``NullPool`` (a connection per session,
    closed after it), N a pool of at most N, None SQLAlchemy's default. SQLite files get WAL
    and a busy timeout so that the web process and several worker processes can write."""
    _prepare_sqlite_file(url)
    kwargs: dict[str, object] = {}
    if pool_size == 0:
        kwargs["poolclass"] = NullPool
    elif pool_size is not None:
        kwargs |= {"pool_size": pool_size, "max_overflow": 0, "pool_pre_ping": True}
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


async def create_tables(engine: AsyncEngine, metadata: MetaData = Base.metadata) -> None:
    """Create missing tables (the reference app keeps no migrations; add Alembic in yours).

    The web process and the workers may start at the same moment on a fresh database: when
    another process creates a table between our check and our CREATE, we try again.
    """
    for attempt in range(5):
        try:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all, checkfirst=True)
            return
        except OperationalError as exc:
            if "already exists" not in str(exc) or attempt == 4:
                raise


async def get_request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: the *request's* session, from the engine the lifespan created.

    Tasks never use it: they get their own from ``taskiq/deps.py``'s ``get_db_session``."""
    async with request.app.state.sessionmaker() as session:
        yield session
