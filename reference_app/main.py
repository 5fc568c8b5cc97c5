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

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import async_sessionmaker

from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import create_engine_from_settings
from reference_app.infrastructure.http import LimitBodySize, validation_error_without_input
from reference_app.infrastructure.security import require_admin
from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq.brokers import app_brokers, start_brokers
from reference_app.infrastructure.taskiq.registry import registered_tasks
from reference_app.migrate import prepare_database
from reference_app.modules.email.accounts import AccountEmails
from reference_app.modules.email.router import notifications as notifications_router
from reference_app.modules.email.router import router as mail_router
from reference_app.modules.maintenance import tasks as maintenance_tasks
from reference_app.modules.monitoring.probes import probe_database
from reference_app.modules.monitoring.router import router as monitoring_router
from reference_app.modules.reports.router import router as reports_router
from reference_app.modules.schedules.router import router as schedules_router
from reference_app.modules.users.router import router as users_router
from reference_app.settings import check_settings, get_app_settings
from taskiq_extras.health import STATE, probe, start_or_keep_trying

logger = logging.getLogger(__name__)
# Imported so the API knows every task a schedule may name (the others come with their routes).
SCHEDULABLE = [maintenance_tasks]


# --8<-- [start:lifespan]
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    # The schema, by Alembic: a SQLite file is upgraded here; a server database that is behind
    # stops the app with one line that says to run `make migrate` (reference_app/migrate.py).
    await prepare_database(settings.DATABASE_URL)
    engine = create_engine_from_settings(settings.DATABASE_URL)
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    in_worker = any(broker.is_worker_process for broker in app_brokers())
    reconnecting = None
    if not in_worker:
        # Broker down? One warning line, then background reconnects; routes answer 503.
        reconnecting = await start_or_keep_trying(lambda: start_brokers(settings))
    else:  # a worker of one queue may enqueue on the other: that one's client starts
        await start_brokers(settings)
    try:
        yield
    finally:
        if reconnecting is not None:
            reconnecting.cancel()
        if in_worker or STATE.ready:
            for broker in (b for b in app_brokers() if not b.is_worker_process):
                await broker.shutdown()
        await engine.dispose()


# --8<-- [end:lifespan]


HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Taskiq reference app</title></head><body style="font-family:sans-serif;max-width:40em">
<h1>Taskiq reference app</h1>
<p>Broker: <code>{broker}</code>. Tasks registered: {count}.</p>
<ul>
<li><a href="/guide/">The guide</a>: the docs site, served by this app</li>
<li><a href="/docs">API docs (OpenAPI)</a>: try <code>POST /reports</code></li>
<li><a href="/tasks">Tasks: registry, live counts, latest runs</a></li>
<li><a href="/health/live">Health</a></li>
</ul></body></html>"""


def _broker_type() -> str:
    settings = get_settings()
    return settings.TASKIQ_BROKER_TYPE if settings.TASKIQ_ENABLED else "inmemory"


def create_app() -> FastAPI:
    check_settings()  # every part's settings: a bad value is one line naming it
    # FastAPI as it is, with /docs (Swagger UI) served from an installed package instead of a
    # CDN, so that it works offline. No ReDoc.
    app = FastAPIOffline(title="Taskiq reference app", lifespan=lifespan, redoc_url=None)
    app.add_middleware(LimitBodySize, max_bytes=get_app_settings().MAX_REQUEST_BYTES)
    app.add_exception_handler(RequestValidationError, validation_error_without_input)
    # users asks for emails through an interface; the email feature provides it
    app.state.account_mailer = AccountEmails()
    app.include_router(reports_router)
    app.include_router(users_router)
    app.include_router(notifications_router)
    app.include_router(mail_router)
    app.include_router(monitoring_router)
    app.include_router(schedules_router)

    site = get_app_settings().DOCS_SITE_DIR
    if (site / "index.html").exists():  # `make run` builds it; the app serves it beside itself
        app.mount("/guide", StaticFiles(directory=site, html=True), name="guide")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home() -> str:
        # The broker's type only: where it is (hosts, paths) is for admins (/tasks).
        return HOME.format(broker=_broker_type(), count=len(registered_tasks()))

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        """The process answers. Nothing else is checked."""
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"])
    async def ready(request: Request) -> JSONResponse:
        """The database and the broker answer; 503 if either does not. Latencies and errors
        (which may name hosts and paths) are shown to admins only."""
        checks = {
            "database": await probe_database(request.app.state.sessionmaker),
            "broker": {"type": _broker_type(), **await probe(email_broker)},
        }
        healthy = all(check["ok"] for check in checks.values())
        try:
            await require_admin(request)
        except HTTPException:
            checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", **checks},
            status_code=200 if healthy else 503,
        )

    return app
