"""Core (stock taskiq): dependencies injected into tasks with ``TaskiqDepends``.

Tasks run in worker processes, apart from the web server, so they open their own database
connections. ``get_db_session`` gives each task a fresh ``AsyncSession``: committed when the
task returns, rolled back when it raises. By default (``DATABASE_TASK_POOL_SIZE=0``) the engine
uses ``NullPool``: a connection is opened for the task and closed after it, so nothing pooled
outlives a task, leaks across a worker's fork, or goes stale between tasks that run minutes
apart. A pool of N per worker process saves the connect on each task, at the price of N
connections held by every process (docs: Database access in tasks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ..config import get_settings
from ..database import create_engine_from_settings

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


# --8<-- [start:task_sessionmaker]
def task_sessionmaker() -> async_sessionmaker[AsyncSession]:
    """The session factory of this worker process, created on first use."""
    global _engine, _sessionmaker
    if _sessionmaker is None:
        settings = get_settings()
        _engine = create_engine_from_settings(
            settings.DATABASE_URL, pool_size=settings.DATABASE_TASK_POOL_SIZE
        )
        _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False)
    return _sessionmaker


# --8<-- [end:task_sessionmaker]


# --8<-- [start:get_db_session]
async def get_db_session() -> AsyncIterator[AsyncSession]:
    """One session per task: commit on success, roll back on error."""
    session = task_sessionmaker()()
    try:
        yield session
        if session.in_transaction():  # a task that never used it has nothing to commit
            await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        # Commit and rollback give the connection back; only if one of them failed is there
        # anything left to close. (`async with` closes anyway, in a task of its own: that was
        # most of what an injected session cost a no-op task; see docs/performance.md.)
        if session.in_transaction():
            await session.close()


# --8<-- [end:get_db_session]


async def dispose_task_engine(*_state: object) -> None:
    """Close the engine on worker shutdown (registered by ``worker.py``)."""
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None
