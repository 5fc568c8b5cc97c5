"""The app's schema, by Alembic (``make migrate``): the migrations are in ``migrations/``.

    python -m reference_app.migrate              # upgrade DATABASE_URL to the latest revision
    python -m reference_app.migrate check        # exit 1, saying so, if it is behind
    python -m reference_app.migrate revision "add reports.owner"   # autogenerate the next one

The app checks the revision at start (``prepare_database``): on a SQLite file it upgrades it
itself (the embedded default needs no step of yours); on a server such as PostgreSQL it
refuses to start on a database that is behind, with one line that says to run the upgrade.
The extras' tables (task runs, results, progress, schedules) are in the migrations too.
"""

from __future__ import annotations

import asyncio
import fcntl
import sys
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from reference_app.infrastructure.config import ConfigurationError, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST = "0001"  # the revision a database made before migrations existed is stamped at


def target_metadata() -> list[MetaData]:
    """Every table the migrations own: the features' models and the extras' tables."""
    from reference_app.infrastructure.database import Base
    from reference_app.modules.email import models as _email  # noqa: F401
    from reference_app.modules.reports import models as _reports  # noqa: F401
    from reference_app.modules.users import models as _users  # noqa: F401
    from taskiq_extras import result_backend as _results  # noqa: F401
    from taskiq_extras import runs as _runs  # noqa: F401
    from taskiq_extras import scheduling as _scheduling  # noqa: F401
    from taskiq_extras.database import metadata as extras

    return [Base.metadata, extras]


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url  # not in the options: a password with % would break them
    return config


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current_revision(url: str) -> tuple[str | None, bool]:
    """The database's revision, and whether it has the app's tables without one (made by an
    older version of the app, which created its tables at start)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:

            def read(sync) -> tuple[str | None, bool]:
                revision = MigrationContext.configure(sync).get_current_revision()
                return revision, inspect(sync).has_table("reports")

            return await connection.run_sync(read)
    finally:
        await engine.dispose()


@contextmanager
def _one_at_a_time(url: str):
    """On a SQLite file, the API and the workers may start at once: one upgrades, the others
    wait and find it done. A server database is upgraded by `make migrate` alone."""
    database = make_url(url).database
    if make_url(url).get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        yield
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    with open(f"{database}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def upgrade(url: str) -> None:
    """Upgrade ``url`` to the latest revision (a blocking call: Alembic runs its own loop)."""
    config = alembic_config(url)
    with _one_at_a_time(url):
        revision, has_tables = asyncio.run(current_revision(url))
        if revision is None and has_tables:  # tables from before migrations: adopt them
            command.stamp(config, FIRST)
        command.upgrade(config, "head")


def where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def check_current(url: str) -> None:
    """ConfigurationError, in one line saying what to run, if ``url`` is behind the code."""
    revision, _ = await current_revision(url)
    if revision != head():
        raise ConfigurationError(
            f"the database {where(url)} is at revision {revision or 'none'}, this code needs "
            f"{head()}: run `make migrate` (python -m reference_app.migrate) first"
        )


async def prepare_database(url: str) -> None:
    """At start: upgrade a SQLite file; refuse a server database that is behind."""
    if make_url(url).get_backend_name() == "sqlite":
        await asyncio.to_thread(upgrade, url)
    else:
        await check_current(url)


def main(argv: list[str]) -> int:
    url = get_settings().DATABASE_URL
    if argv[:1] == ["check"]:
        try:
            asyncio.run(check_current(url))
        except ConfigurationError as exc:
            print(f"migrate: {exc}", file=sys.stderr)
            return 1
        print(f"migrate: {where(url)} is at {head()}, the latest revision")
        return 0
    if argv[:1] == ["revision"] and len(argv) == 2:
        command.revision(alembic_config(url), message=argv[1], autogenerate=True)
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    upgrade(url)
    print(f"migrate: {where(url)} is at {head()}, the latest revision")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
