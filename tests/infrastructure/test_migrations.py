"""Alembic migrations: the models and the migrations agree, on SQLite and on PostgreSQL; the
app upgrades a SQLite file itself and refuses a PostgreSQL database that is behind."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import uuid

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from reference_app.migrate import head, target_metadata, upgrade
from tests.support.postgres import admin, require_postgres, url_of
from tests.support.processes import ROOT


async def differences(url: str) -> list:
    """What `alembic revision --autogenerate` would write: nothing, if they agree."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), target_metadata())
            )
    finally:
        await engine.dispose()


def differences_in_a_fresh_process(url: str) -> str:
    """``differences`` in a new interpreter: in this one, recipes and tests may have added
    tables of their own to the app's ``Base`` (the db_in_tasks recipe's notes, say)."""
    code = ("import asyncio, sys\nfrom tests.infrastructure.test_migrations import differences"
            f"\nprint(asyncio.run(differences({url!r})))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_models_and_the_migrations_agree_on_sqlite(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    assert differences_in_a_fresh_process(url) == "[]"


def test_the_models_and_the_migrations_agree_on_postgresql(postgres_url):
    assert differences_in_a_fresh_process(postgres_url) == "[]"


def test_a_database_made_from_todays_models_is_adopted_too(tmp_path):
    """Tables made by create_all from the current models (tests and recipes do that): the
    migrations add nothing twice."""
    from reference_app.infrastructure.database import create_engine_from_settings, create_tables

    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"

    async def create_all() -> None:
        engine = create_engine_from_settings(url)
        for metadata in target_metadata():
            await create_tables(engine, metadata)
        await engine.dispose()

    asyncio.run(create_all())
    upgrade(url)
    with sqlite3.connect(tmp_path / "app.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head(),)]


def test_a_file_made_before_migrations_is_adopted_not_recreated(tmp_path):
    """Readers' var/app.db from before: the tables of revision 0001 (what create_all made
    then), no alembic_version. It is stamped, upgraded, and keeps its rows."""
    from alembic import command

    from reference_app.migrate import alembic_config

    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    command.upgrade(alembic_config(url), "0001")
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("DROP TABLE alembic_version")
        db.execute("INSERT INTO reports (title, \"values\", delay_ms, status, runs, created_at) "
                   "VALUES ('kept', '[1]', 0, 'complete', 1, '2026-01-01 00:00:00')")  # fmt: skip
    upgrade(url)
    with sqlite3.connect(tmp_path / "app.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head(),)]
        assert db.execute("SELECT title, requeues FROM reports").fetchall() == [("kept", 0)]


def run_app_check(url: str) -> subprocess.CompletedProcess[str]:
    """Start the API's lifespan as uvicorn would, in a child process."""
    code = ("import asyncio\nfrom reference_app.main import create_app\n"
            "async def main():\n    app = create_app()\n"
            "    async with app.router.lifespan_context(app):\n        print('started')\n"
            "asyncio.run(main())")  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "TASKIQ_ENABLED": "false",
           "DEV_MODE": "true", "HOME": str(ROOT)}  # fmt: skip
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_the_app_refuses_a_postgresql_database_that_is_behind_with_one_line():
    require_postgres()
    name = f"cookbook_{uuid.uuid4().hex[:12]}"
    admin(f'CREATE DATABASE "{name}"')
    try:
        refused = run_app_check(url_of(name))
        assert refused.returncode != 0
        assert "is at revision none, this code needs" in refused.stderr
        assert "run `make migrate`" in refused.stderr
        migrate = subprocess.run([sys.executable, "-m", "reference_app.migrate"], cwd=ROOT,
                                 env={"PATH": "/usr/bin:/bin", "DATABASE_URL": url_of(name)},
                                 capture_output=True, text=True, timeout=60)  # fmt: skip
        assert migrate.returncode == 0, migrate.stderr
        assert f"is at {head()}, the latest revision" in migrate.stdout
        started = run_app_check(url_of(name))
        assert started.returncode == 0 and "started" in started.stdout, started.stderr
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_app_upgrades_a_new_sqlite_file_itself(tmp_path):
    done = run_app_check(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    assert done.returncode == 0 and "started" in done.stdout, done.stderr
    with sqlite3.connect(tmp_path / "app.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head(),)]
