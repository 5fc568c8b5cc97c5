"""PostgreSQL for the tests: a database of our own per test, cloned from one migrated template.

The server is the machine's (127.0.0.1:5432, trust auth, user postgres). Each test session
(each pytest-xdist worker) migrates one template database once; each test gets a copy of it
(``CREATE DATABASE ... TEMPLATE``, a file copy on the server, about 50 ms) and drops it after.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.support.brokers import IN_CI

HOST, PORT = "127.0.0.1", 5432
ADMIN_URL = f"postgresql+asyncpg://postgres@{HOST}:{PORT}/postgres"


def url_of(database: str) -> str:
    return f"postgresql+asyncpg://postgres@{HOST}:{PORT}/{database}"


def require_postgres() -> None:
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return
    except OSError:
        message = f"needs PostgreSQL on {HOST}:{PORT}, which is not reachable"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: database tests must run, not skip)", pytrace=False)
        pytest.skip(message)


async def _admin(*statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(host=HOST, port=PORT, user="postgres", database="postgres")
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def in_a_thread(function: Callable[[], object]) -> object:
    """Run ``function`` (which may call asyncio.run) even from inside a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(function).result()


def admin(*statements: str) -> None:
    in_a_thread(lambda: asyncio.run(_admin(*statements)))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The name of a migrated database that tests clone; dropped at the end of the session."""
    require_postgres()
    from reference_app.migrate import upgrade

    name = f"cookbook_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin(f'CREATE DATABASE "{name}"')
    try:
        upgrade(url_of(name))
        yield name
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone(template: str) -> str:
    """The URL of a new database copied from ``template``; ``drop`` it after."""
    name = f"cookbook_{uuid.uuid4().hex[:12]}"
    admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return url_of(name)


def drop(url: str) -> None:
    admin(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_template) -> Iterator[str]:
    """A fresh, migrated database of this test's own."""
    url = clone(postgres_template)
    try:
        yield url
    finally:
        drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path) -> Iterator[Callable[[], str]]:
    """``new_database()``: the URL of a fresh, migrated database, on SQLite or PostgreSQL
    (one parameter each), as many as the test asks for; all dropped after the test."""
    made: list[str] = []
    if request.param == "postgresql":
        template = request.getfixturevalue("postgres_template")

    def make() -> str:
        if request.param == "sqlite":
            from reference_app.migrate import upgrade

            url = f"sqlite+aiosqlite:///{tmp_path / f'db{len(made)}' / 'app.db'}"
            in_a_thread(lambda: upgrade(url))
        else:
            url = clone(template)
        made.append(url)
        return url

    yield make
    for url in made:
        if url.startswith("postgresql"):
            drop(url)
