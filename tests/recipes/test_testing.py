"""recipes/testing: the example tests pass on every broker, and what goes wrong without care."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from taskiq import InMemoryBroker

from recipes.testing.models import Order
from recipes.testing.tasks import apply_discount
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from reference_app.infrastructure.taskiq.deps import get_db_session
from tests.support.recipes import run_recipe


@pytest.mark.broker
def test_the_example_tests_pass_on_every_broker(broker_env):
    output = run_recipe("testing", broker_env)
    assert "pytest test_example.py: 4 passed" in output


@pytest.fixture
async def orders(tmp_path):
    path = tmp_path / "orders.db"
    engine = create_engine_from_settings(f"sqlite+aiosqlite:///{path}")
    await create_tables(engine)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as db:
        db.add(Order(id=1, total=200.0))
        await db.commit()

    async def session():
        async with maker() as db:
            yield db
            await db.commit()

    yield path, session
    await engine.dispose()


def total(path) -> float:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT total FROM testing_orders WHERE id = 1").fetchone()[0]


async def test_without_await_inplace_the_task_has_not_run_when_kiq_returns(orders):
    path, session = orders
    broker = InMemoryBroker()  # the default: the task runs in the background
    task = broker.register_task(apply_discount.original_func, task_name="testing.apply_discount")
    broker.dependency_overrides[get_db_session] = session
    await broker.startup()
    await task.kiq(order_id=1, percent=50)
    assert total(path) == 200.0  # asserting now would test nothing
    await broker.wait_all()  # or: await (await task.kiq(...)).wait_result()
    assert total(path) == 100.0
    await broker.shutdown()


async def test_calling_a_task_without_its_dependency_fails_inside_the_task():
    with pytest.raises(AttributeError, match="'Dependency' object has no attribute 'get'"):
        await apply_discount(1, 10)  # db is still the TaskiqDepends marker: pass db=...


async def test_an_in_memory_task_without_an_override_uses_the_real_session(orders, monkeypatch):
    path, _ = orders
    broker = InMemoryBroker(await_inplace=True)
    task = broker.register_task(apply_discount.original_func, task_name="testing.apply_discount")
    await broker.startup()
    # No override: get_db_session opens the app's DATABASE_URL, which has no such table.
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path.with_name('other.db')}")
    from reference_app.infrastructure.config import get_settings
    from reference_app.infrastructure.taskiq.deps import dispose_task_engine

    get_settings.cache_clear()
    await dispose_task_engine()
    try:
        result = await (await task.kiq(order_id=1, percent=50)).wait_result(timeout=5)
    finally:
        await broker.shutdown()
        await dispose_task_engine()
        get_settings.cache_clear()
    assert result.is_err and "no such table: testing_orders" in str(result.error)
    assert total(path) == 200.0
