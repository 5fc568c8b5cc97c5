"""The FastAPI app factory and its lifespan.

    uvicorn --factory reference_app.main:create_app

The lifespan opens the database and starts the broker *client* (so routes can ``.kiq()``).
Inside a worker process taskiq-fastapi runs this same lifespan; there the broker is already
run by taskiq, so the lifespan leaves it alone.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import async_sessionmaker

from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq.brokers import start_broker
from reference_app.infrastructure.taskiq.registry import registered_tasks
from reference_app.modules.email.router import router as mail_router
from reference_app.modules.monitoring.router import router as monitoring_router
from reference_app.modules.reports.router import router as reports_router
from reference_app.modules.users.router import router as users_router

logger = logging.getLogger(__name__)


# --8<-- [start:lifespan]
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    engine = create_engine_from_settings(settings.DATABASE_URL)
    await create_tables(engine)
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    in_worker = email_broker.is_worker_process
    if not in_worker:
        await start_broker(email_broker, settings)  # fails fast, with one clear line
    try:
        yield
    finally:
        if not in_worker:
            await email_broker.shutdown()
        await engine.dispose()


# --8<-- [end:lifespan]


HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Taskiq reference app</title></head><body style="font-family:sans-serif;max-width:40em">
<h1>Taskiq reference app</h1>
<p>Broker: <code>{broker}</code>. Tasks registered: {count}.</p>
<ul>
<li><a href="/docs">API docs (OpenAPI)</a>: try <code>POST /reports</code></li>
<li><a href="/tasks">Tasks: registry, live counts, latest runs</a></li>
<li><a href="/health/live">Health</a></li>
</ul></body></html>"""


def create_app() -> FastAPI:
    app = FastAPI(title="Taskiq reference app", lifespan=lifespan)
    app.include_router(reports_router)
    app.include_router(users_router)
    app.include_router(mail_router)
    app.include_router(monitoring_router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home() -> str:
        return HOME.format(broker=get_settings().broker_location(), count=len(registered_tasks()))

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    return app
