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
# # Defining tasks
#
# A task is an `async def` function with the broker's `@task` decorator. Its arguments
# travel to a worker as a JSON message, and its return value comes back the same way: every
# rule on this page follows from that **process boundary**. The three tasks used here are
# the recipe's own (`recipes/define_tasks/tasks.py`), imported rather than copied:
#
# - `summarise(numbers)`: plain JSON in, plain JSON out;
# - `total_invoice(invoice)`: a pydantic model as a parameter;
# - `rebuild_index(documents)`: labels on the decorator (`timeout=5`, `team="search"`).

# %% [markdown]
# ## Setup: this notebook's own database and queue
#
# Settings are read from the environment **once**, on the first import of `reference_app`,
# and the worker process started below inherits this environment. So this first cell points
# the app's database and the SQLite queue at a fresh temporary folder *before* importing
# anything from `reference_app`: the notebook never touches `var/`, and every run starts
# empty. `cleanup` stops what we start (the worker, the folder) in the last cell, and also
# if a cell fails: when the kernel exits, or when Jupyter stops it with SIGTERM (a kernel
# that still holds the broker's connection does not exit by itself, so Jupyter sends one).

# %%
import atexit
import os
import shutil
import signal
import tempfile
from contextlib import ExitStack

workdir = tempfile.mkdtemp(prefix="nb-define_tasks-")
os.environ.update(
    TASKIQ_ENABLED="true",
    TASKIQ_BROKER_TYPE="sqlite",  # the embedded broker: no server
    TASKIQ_SQLITE_PATH=f"{workdir}/taskiq-broker.db",
    DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/app.db",
)
cleanup = ExitStack()
cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
atexit.register(cleanup.close)
signal.signal(signal.SIGTERM, lambda *_: (cleanup.close(), os._exit(143)))
print(f"this notebook's files: {workdir}")

# %% [markdown]
# ## The three tasks
#
# Importing the module defines the tasks on the app's broker and records them in the
# registry. Each has a `task_name` (the name that travels in the message) and labels
# (every other keyword of the decorator).

# %%
from recipes.define_tasks.tasks import Invoice, rebuild_index, summarise, total_invoice
from reference_app.infrastructure.taskiq import email_broker

for task in (summarise, total_invoice, rebuild_index):
    print(f"{task.task_name:<28} labels={task.labels}")

# %% [markdown]
# ## Called directly, a task is a plain function
#
# Awaiting the task runs its function here and now, with no broker and no worker: that is
# how you unit-test one (see the `testing` notebook).

# %%
print(await summarise([3, 4, 8]))
print(await total_invoice(Invoice(number="INV-1", lines=[100, 50])))

# %% [markdown]
# The pydantic model validates in the caller too: an invoice must have at least one line.

# %%
from pydantic import ValidationError

try:
    Invoice(number="INV-2", lines=[])
except ValidationError as exc:
    print(exc)

# %% [markdown]
# ## On a worker
#
# Now for real: connect this process to the broker as a client, start a worker process that
# imports the recipe's task module, and enqueue each task with `.kiq()`. The invoice is sent
# as JSON and arrives in the worker as an `Invoice` again.

# %%
from reference_app.infrastructure.taskiq import run_worker
from taskiq_extras.processes import worker_process

await email_broker.startup()
worker = cleanup.enter_context(worker_process(run_worker, "recipes.define_tasks.tasks"))

jobs = [
    await summarise.kiq([3, 4, 8]),
    await total_invoice.kiq(Invoice(number="INV-7", lines=[100, 50])),
    await rebuild_index.kiq(documents=1200),
]
for job in jobs:
    result = await job.wait_result(timeout=30)
    print(f"{job.task_id[:8]}  {result.labels.get('team', '-'):<7} ->  {result.return_value}")

# %% [markdown]
# The labels travelled with the message: the result of `rebuild_index` carries
# `team="search"`.
#
# ## What cannot travel
#
# An argument that is not JSON (an ORM object, a session, an open file) is refused at
# `.kiq()` time, in the caller, with an error naming it:

# %%
class Order:  # stands for any object that is not plain data, such as an ORM row
    id = 42


try:
    await summarise.kiq(Order())
except TypeError as exc:  # TaskArgumentError, a TypeError
    print(f"{type(exc).__name__}: {exc}")

# %% [markdown]
# Data that is JSON but does not fit the task's type hints passes `.kiq()` (the caller
# cannot know every task's signature) and is refused by the worker **before the task
# runs**. The caller gets the error as the task's result, and the message is kept in the
# broker's dead letters instead of being lost. (taskiq also logs "Cannot parse return
# type": an error result has no return value to parse; that warning is harmless.)

# %%
bad = await total_invoice.kiq({"number": "INV-8", "lines": []})
result = await bad.wait_result(timeout=30)
print("is_err:", result.is_err)
print(str(result.error)[:300])
for letter in await email_broker.dead_letters():
    print(f"dead letter #{letter.id}: {letter.reason}")

# %% [markdown]
# ## The registry
#
# `register_task(...)`, called right after each definition in the recipe, recorded the
# three tasks. It refuses a second function under a taken name (the `registry` notebook
# shows it).

# %%
from reference_app.infrastructure.taskiq.registry import registered_tasks

for entry in registered_tasks("email_broker"):
    print(f"{entry.name:<28} {entry.module}.{entry.qualname}")

# %% [markdown]
# ## Clean up

# %%
await email_broker.shutdown()
cleanup.close()
print("worker stopped, exit code", worker.returncode)
