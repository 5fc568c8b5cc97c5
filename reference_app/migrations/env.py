"""Alembic's environment for the app: every feature's models and the extras' tables.

Run through ``python -m reference_app.migrate`` (``make migrate``), which passes the URL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from reference_app.migrate import target_metadata

config = context.config


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=True,  # SQLite alters a table by copying it: Alembic's batch mode
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(config.attributes["url"], poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.attributes["url"], target_metadata=target_metadata(),
                      literal_binds=True, render_as_batch=True)  # fmt: skip
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_online())
