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
# # Database access in tasks
#
# A worker has no request, so a task cannot borrow the web request's database session. Each
# task gets its **own session** from `TaskiqDepends(get_db_session)`: it commits when the
# task returns and rolls back when the task raises. And because arguments travel as JSON,
# the web side passes a row's **id**, never the row.
#
# The table and tasks are the `db_in_tasks` recipe's (`recipes/db_in_tasks/`):
# `count_words(note_id)` commits, `archive_then_fail(note_id)` changes the row then raises.

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

workdir, cleanup = setup("db_in_tasks")

# %% [markdown]
# ## The web side: create a row, commit, then enqueue its id
#
# The tables are created in this notebook's own database (the `DATABASE_URL` set above).

# %%
from sqlalchemy.ext.asyncio import async_sessionmaker

from recipes.db_in_tasks.models import Note
from recipes.db_in_tasks.tasks import archive_then_fail, count_words, pool_kind
from reference_app.infrastructure.config import get_settings
from reference_app.infrastructure.database import create_engine_from_settings, create_tables
from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq import run_worker
from taskiq_extras.processes import worker_process

engine = create_engine_from_settings(get_settings().DATABASE_URL)
await create_tables(engine)
sessions = async_sessionmaker(engine, expire_on_commit=False)


async def show_notes() -> None:
    async with sessions() as db:
        notes = (await db.execute(Note.__table__.select())).all()
    print(f"{'id':>3}  {'status':<9} {'word_count':>10}  text")
    for note in notes:
        print(f"{note.id:>3}  {note.status:<9} {note.word_count!s:>10}  {note.text}")


async with sessions() as db:
    note = Note(text="tasks get their own database session")
    db.add(note)
    await db.commit()  # commit BEFORE enqueueing: the worker must be able to see the row
await show_notes()

# %% [markdown]
# ## The worker side: a session per task
#
# Start a worker and run the two tasks on the note's id. `count_words` sets `word_count`
# and `status="counted"`, and its session commits. `archive_then_fail` sets
# `status="archived"`, flushes it to the database, and raises: its session rolls back. (The
# worker shares this kernel's stderr, so its log of that error, with the traceback, may
# show under the cell: expected.)

# %%
await email_broker.startup()
worker = cleanup.enter_context(worker_process(run_worker, "recipes.db_in_tasks.tasks"))

counted = await (await count_words.kiq(note_id=note.id)).wait_result(timeout=30)
failed = await (await archive_then_fail.kiq(note_id=note.id)).wait_result(timeout=30)
print(f"count_words({note.id})       -> {counted.return_value} words")
print(f"archive_then_fail({note.id}) -> error: {failed.error!r}")

# %% [markdown]
# The row as the web side sees it now: the count was committed, the failed task's
# `archived` was rolled back.

# %%
await show_notes()

# %% [markdown]
# The tasks' engine in the worker uses `NullPool`: every task opens and closes its own
# connection, so nothing pooled is shared across tasks, event loops or worker processes.

# %%
(await (await pool_kind.kiq()).wait_result(timeout=30)).return_value

# %% [markdown]
# ## The mistake: passing the row itself
#
# An ORM object is not JSON. The broker refuses it at `.kiq()` time, in the caller, before
# anything is queued. Pass `note.id` and let the task load the row in its own session.

# %%
try:
    await count_words.kiq(note_id=note)
except TypeError as exc:  # TaskArgumentError
    print(f"refused: {exc}")

# %% [markdown]
# ## Clean up

# %%
await email_broker.shutdown()
await engine.dispose()
cleanup.close()
print("worker stopped, exit code", worker.returncode)
