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
# # Retries, timeouts and idempotent tasks
#
# Some failures are worth another try (a partner API down for a minute), some are bugs that
# fail the same way every time, and some must be cut short. The app's broker carries
# taskiq's `SmartRetryMiddleware`, which retries **only** tasks labelled
# `retry_on_error=True`, with a growing delay; the `timeout` label cancels a task that runs
# too long. This notebook runs the `retries` recipe's tasks (`recipes/retries/tasks.py`) on
# a worker and counts every attempt in the database:
#
# | task | labels | what it does |
# |---|---|---|
# | `fetch_rates` | `retry_on_error=True, max_retries=4` | fails twice, then succeeds |
# | `sync_inventory` | `retry_on_error=True, max_retries=3` | always fails |
# | `parse_upload` | none | fails (bad data): no label, no retry |
# | `call_slow_service` | `timeout=1` | would take 30 s |
# | `charge_order` | `retry_on_error=True` | idempotent: the order id is the key |

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

workdir, cleanup = setup("retries")

# %% [markdown]
# ## Tables, a client, a worker

# %%
import asyncio
import time

from sqlalchemy.ext.asyncio import async_sessionmaker

from recipes.retries.models import Attempt, Charge
from recipes.retries.tasks import (
    call_slow_service,
    charge_order,
    fetch_rates,
    parse_upload,
    sync_inventory,
)
from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq import run_worker
from taskiq_extras.processes import worker_process

settings = get_settings()
engine = create_engine_from_settings(settings.DATABASE_URL)
await create_tables(engine)
sessions = async_sessionmaker(engine)
print(
    f"retry delay {settings.TASKIQ_RETRY_DELAY:g} s, growing up to "
    f"{settings.TASKIQ_RETRY_MAX_DELAY:g} s, plus up to 1 s of jitter"
)
await email_broker.startup()
worker = cleanup.enter_context(worker_process(run_worker, "recipes.retries.tasks"))
# Wait until the worker is up, so that the times below are the tasks' own.
print((await (await call_slow_service.kiq(seconds=0)).wait_result(timeout=30)).return_value)

# %% [markdown]
# ## Enqueue them all, and time each result
#
# While a retry is pending, nothing is stored as the result: `wait_result` waits for the
# last try. So the time until each result shows the backoff at work. (The worker shares
# this kernel's stderr: its logs of the failures may show under the cell. Expected.)

# %%
started = time.perf_counter()
queued = {
    "fetch_rates": await fetch_rates.kiq(key="rates", fail_times=2),
    "sync_inventory": await sync_inventory.kiq(key="inventory"),
    "parse_upload": await parse_upload.kiq(key="upload"),
    "call_slow_service": await call_slow_service.kiq(seconds=30),
    "charge_order": await charge_order.kiq(order_id=1001, amount=40),
    "charge_order again": await charge_order.kiq(order_id=1001, amount=40),  # a duplicate
}


async def timed(task):
    result = await task.wait_result(timeout=60)
    return result, time.perf_counter() - started


results = dict(zip(queued, await asyncio.gather(*map(timed, queued.values())), strict=True))

# %% [markdown]
# ## What happened
#
# Attempts come from the rows each try committed before failing (the task's session rolls
# back on error, so the count is committed first).

# %%
keys = {"fetch_rates": "rates", "sync_inventory": "inventory", "parse_upload": "upload"}
async with sessions() as db:
    attempts = {name: (await db.get(Attempt, key)).attempts for name, key in keys.items()}
    charges = (await db.execute(Charge.__table__.select())).all()

print(f"{'task':<19} {'tries':>5} {'result after':>12}  outcome")
for name, (result, seconds) in results.items():
    outcome = f"error: {result.error!r}" if result.is_err else repr(result.return_value)
    print(f"{name:<19} {attempts.get(name, '-')!s:>5} {seconds:>10.1f} s  {outcome[:70]}")
print(f"\ncharge rows in the database: {[tuple(row) for row in charges]}")

# %% [markdown]
# - `fetch_rates` failed twice and succeeded on the third try: its one result is the
#   success, and it came seconds later, after two growing delays.
# - `sync_inventory` gave up after 3 tries in all (`max_retries` counts every try); the
#   last error is its result. Nothing more happens by itself: record such failures where
#   someone will see them.
# - `parse_upload` has no retry label: it ran once.
# - `call_slow_service` was cancelled after 1 s by its `timeout` label.
# - `charge_order` ran twice for the same order, and there is one charge: the second run
#   found the first one's row. A task that may be retried or delivered twice must be safe
#   to run twice.
#
# ## Clean up

# %%
await email_broker.shutdown()
await engine.dispose()
cleanup.close()
print("worker stopped, exit code", worker.returncode)
