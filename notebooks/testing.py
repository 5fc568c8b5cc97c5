# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Testing tasks
#
# Four ways to test a task, fastest first: call it as a plain function; run it through an
# `InMemoryBroker` with a dependency override; use the app's own broker with
# `TASKIQ_ENABLED=false`; and, for a few end-to-end tests, a real broker and worker process.
# The tasks are the `testing` recipe's (`recipes/testing/tasks.py`): `slugify(title)`, pure,
# and `apply_discount(order_id, percent)`, which writes through the task's DB session.
# The recipe's `test_example.py` holds the same four as pytest tests; the last cell runs it.

# %% [markdown]
# ## Setup: this notebook's own database and queue
#
# `setup()` (`notebooks/nbsetup.py`) points the app's database and SQLite queue at a fresh
# temporary folder, with `DEV_MODE=true` (local development), and returns `cleanup`, which
# stops what we start (the worker, the folder) at the end, even if a cell fails. It runs
# before any import from `reference_app`: settings are read from the environment once per
# process, and the worker started below inherits this environment.

# %%
from nbsetup import setup

workdir, cleanup = setup("testing")

# %% [markdown]
# ## A database with one order
#
# A throw-away database (this notebook's `DATABASE_URL`) with order 1, total 200.

# %%
from sqlalchemy.ext.asyncio import async_sessionmaker

from recipes.testing.models import Order
from recipes.testing.tasks import apply_discount, slugify
from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import create_engine_from_settings, create_tables

engine = create_engine_from_settings(get_settings().DATABASE_URL)
await create_tables(engine)
sessions = async_sessionmaker(engine, expire_on_commit=False)
async with sessions() as db:
    db.add(Order(id=1, total=200.0))
    await db.commit()


async def total(order_id: int = 1) -> float:
    async with sessions() as db:
        return (await db.get(Order, order_id)).total


await total()

# %% [markdown]
# ## 1. A task is a plain function
#
# Awaiting the decorated task runs its function here and now: no broker, no worker. Its
# dependencies are plain keyword arguments too, so pass your own session.

# %%
print(repr(await slugify("Hello, Taskiq World!")))
async with sessions() as db:
    print("discounted:", await apply_discount(1, 10, db=db))
    await db.commit()
print("total in the database:", await total())

# %% [markdown]
# ## 2. Through an in-memory broker, with a dependency override
#
# This goes through `.kiq()` and taskiq's dependency injection, in this process.
# `await_inplace=True` makes `.kiq()` return after the task ran, and
# `dependency_overrides` swaps the production `get_db_session` for the test's own.

# %%
from taskiq import InMemoryBroker

from reference_app.infrastructure.taskiq.deps import get_db_session

broker = InMemoryBroker(await_inplace=True)
task = broker.register_task(apply_discount.original_func, task_name="testing.apply_discount")


async def test_session():
    async with sessions() as db:
        yield db
        await db.commit()


broker.dependency_overrides[get_db_session] = test_session
await broker.startup()
result = await (await task.kiq(order_id=1, percent=50)).wait_result(timeout=5)
await broker.shutdown()
print("return value:", result.return_value, "| total in the database:", await total())

# %% [markdown]
# ## 3. The app's broker with tasks disabled
#
# With `TASKIQ_ENABLED=false`, `build_broker` gives an in-memory broker that still has the app's
# JSON guard: a test catches an argument that production would refuse.

# %%
from reference_app.infrastructure.config import Settings
from reference_app.infrastructure.taskiq import build_broker

disabled = build_broker(Settings(_env_file=None, TASKIQ_ENABLED=False))
print(type(disabled).__name__)
slug_task = disabled.register_task(slugify.original_func, task_name="testing.slugify")
await disabled.startup()
print(repr((await (await slug_task.kiq("A B")).wait_result(timeout=5)).return_value))
try:
    await slug_task.kiq(object())
except TypeError as exc:
    print(f"refused: {exc}")
await disabled.shutdown()

# %% [markdown]
# ## 4. The recipe's tests, run as you would run your own
#
# `recipes/testing/test_example.py` holds the four ways as pytest tests, the last one
# against a real SQLite broker and worker process (in its own temporary folder).

# %%
import os
import subprocess
import sys

import recipes.testing

example = os.path.join(os.path.dirname(recipes.testing.__file__), "test_example.py")
done = subprocess.run(
    [sys.executable, "-m", "pytest", example, "-v", "--color=no", "-p", "no:cacheprovider"],
    capture_output=True,
    text=True,
    timeout=120,
)
for line in done.stdout.splitlines():
    if "::" in line or " passed" in line:
        print(line.rsplit("/", 1)[-1])
assert done.returncode == 0, done.stdout[-3000:]

# %% [markdown]
# ## Clean up

# %%
await engine.dispose()
cleanup.close()
