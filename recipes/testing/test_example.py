"""Tests to copy next to your own tasks: four ways to test a task, fastest first.

python -m pytest recipes/testing/test_example.py
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import InMemoryBroker
from taskiq.kicker import AsyncKicker

from recipes.testing.models import Order
from recipes.testing.tasks import apply_discount, slugify
from reference_app.infrastructure.config import Settings
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from reference_app.infrastructure.taskiq import build_broker, run_worker
from reference_app.infrastructure.taskiq.deps import get_db_session
from taskiq_extras.processes import worker_process

pytestmark = pytest.mark.asyncio


# --8<-- [start:fixtures]
@pytest_asyncio.fixture
async def sessions(tmp_path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A throw-away database with the tables, and one order (id 1, total 200)."""
    engine = create_engine_from_settings(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    await create_tables(engine)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as db:
        db.add(Order(id=1, total=200.0))
        await db.commit()
    yield maker
    await engine.dispose()


async def total(sessions: async_sessionmaker[AsyncSession], order_id: int = 1) -> float:
    async with sessions() as db:
        return (await db.get(Order, order_id)).total


# --8<-- [end:fixtures]


# --8<-- [start:plain]
async def test_a_task_is_a_plain_function(sessions):
    # Calling the decorated task runs its function here and now: no broker, no worker.
    assert await slugify("Hello, Taskiq World!") == "hello-taskiq-world"
    async with sessions() as db:  # dependencies are plain arguments too: pass your own
        assert await apply_discount(1, 10, db=db) == 180.0
        await db.commit()
    assert await total(sessions) == 180.0


# --8<-- [end:plain]


# --8<-- [start:in_memory]
async def test_through_an_in_memory_broker_with_a_dependency_override(sessions):
    broker = InMemoryBroker(await_inplace=True)  # .kiq() returns after the task has run
    task = broker.register_task(apply_discount.original_func, task_name="testing.apply_discount")

    async def test_session() -> AsyncIterator[AsyncSession]:
        async with sessions() as db:
            yield db
            await db.commit()

    broker.dependency_overrides[get_db_session] = test_session
    await broker.startup()
    try:
        result = await (await task.kiq(order_id=1, percent=50)).wait_result(timeout=5)
    finally:
        await broker.shutdown()
    assert result.return_value == 100.0
    assert await total(sessions) == 100.0


# --8<-- [end:in_memory]


# --8<-- [start:disabled]
async def test_with_tasks_disabled_the_app_broker_still_refuses_non_json_arguments():
    broker = build_broker(Settings(_env_file=None, TASKIQ_ENABLED=False))  # InMemoryBroker
    task = broker.register_task(slugify.original_func, task_name="testing.slugify")
    await broker.startup()
    try:
        assert (await (await task.kiq("A B")).wait_result(timeout=5)).return_value == "a-b"
        with pytest.raises(TypeError, match="not JSON-serializable"):
            await task.kiq(object())  # caught in tests, not in production
    finally:
        await broker.shutdown()


# --8<-- [end:disabled]


# --8<-- [start:real_worker]
async def test_against_a_real_broker_and_worker(sessions, tmp_path, monkeypatch):
    # The test's own database and SQLite queue file; the worker process inherits them. The
    # broker type comes from the environment: sqlite unless you set one (on Redis or RabbitMQ,
    # give test runs their own TASKIQ_QUEUE_NAME, and TASKIQ_REDIS_DB).
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    monkeypatch.setenv("TASKIQ_SQLITE_PATH", str(tmp_path / "broker.db"))
    settings = Settings()  # what the worker will read too
    broker = build_broker(settings)  # a client for these settings, like the web process
    await broker.startup()
    try:
        with worker_process(run_worker, "recipes.testing.tasks"):
            kicker = AsyncKicker(apply_discount.task_name, broker, apply_discount.labels)
            result = await (await kicker.kiq(order_id=1, percent=25)).wait_result(timeout=30)
    finally:
        await broker.shutdown()
    assert result.return_value == 150.0
    assert await total(sessions) == 150.0


# --8<-- [end:real_worker]
