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
# # Your first background task in five minutes
#
# A background task is a function that runs **later, in another process**: the caller puts a
# message on a queue and carries on, and a *worker* process takes the message and runs the
# function. In this notebook you will:
#
# 1. give the notebook its own database and queue files,
# 2. call a task like a plain function,
# 3. enqueue it with `.kiq()` while no worker runs, and see the message wait in the queue,
# 4. start a worker process and get the result back.
#
# Nothing to install or start: the queue is the embedded SQLite broker, one file on disk.

# %% [markdown]
# ## 1. A private database and queue
#
# `setup()` (`notebooks/nbsetup.py`) points the app's database and SQLite queue at a fresh
# temporary folder, with `DEV_MODE=true` (local development), and returns `cleanup`, which
# stops whatever we start (the worker, the folder) at the end, even if a cell fails. It
# comes first, before any import from `reference_app`: the project reads its settings
# (`DATABASE_URL`, `TASKIQ_*`, ...) from the environment once per process, and the worker
# process started below inherits this environment.

# %%
from nbsetup import setup

workdir, cleanup = setup("first_task")

# %% [markdown]
# ## 2. A task is an async function with the broker's decorator
#
# We take the task from the `enqueue` recipe rather than copying it, so the notebook and the
# recipe cannot drift apart. Its whole definition is:
#
# ```python
# @email_broker.task(task_name="enqueue.make_thumbnail")
# async def make_thumbnail(image_id: int, width: int = 128) -> dict[str, Any]:
#     await asyncio.sleep(0.05)   # stands in for real work
#     path = f"thumbs/{image_id}-{width}.png"
#     return {"image_id": image_id, "width": width, "path": path, "worker_pid": os.getpid()}
# ```
#
# (see `recipes/enqueue/tasks.py`). Called directly, it is still a plain coroutine function:
# it runs here, in this process. Notebooks allow `await` at the top level.

# %%
import os

from recipes.enqueue.tasks import make_thumbnail
from reference_app.infrastructure.taskiq import email_broker

print("task name:", make_thumbnail.task_name)
print("this kernel's pid:", os.getpid())
await make_thumbnail(image_id=1)

# %% [markdown]
# ## 3. Enqueue it: it returns at once, with a task id
#
# `email_broker.startup()` connects this process to the broker as a *client*: that is what a
# FastAPI app does in its lifespan. Then `.kiq(...)` sends a message and returns a handle
# with the task's id. No worker runs yet, so the message waits in the queue.

# %%
await email_broker.startup()
task = await make_thumbnail.kiq(image_id=7, width=64)
print("task id:", task.task_id)
print("messages waiting in the queue:", await email_broker.pending())
print("result ready?", await task.is_ready())

# %% [markdown]
# ## 4. Start a worker process
#
# `worker_process(...)` starts `taskiq worker` as a separate process, with this notebook's
# settings, importing the recipe's task module. (In a terminal it is
# `python -m reference_app.infrastructure.taskiq.run_worker recipes.enqueue.tasks`.)
# It is a context manager; entering it through `cleanup` keeps it running across cells and
# guarantees it is stopped at the end.
#
# The worker takes the waiting message and runs the task. `wait_result` polls for the
# result, and always with a timeout.

# %%
from reference_app.infrastructure.taskiq import run_worker
from taskiq_extras.processes import worker_process

worker = cleanup.enter_context(worker_process(run_worker, "recipes.enqueue.tasks"))
result = await task.wait_result(timeout=30)
print("error:", result.error)
print(f"took {result.execution_time:.3f} s in the worker")
result.return_value

# %% [markdown]
# The `worker_pid` in the result is not this kernel's pid: the task ran in the worker.
# Now that a worker is listening, a new task is done in a few milliseconds:

# %%
import time

started = time.perf_counter()
tasks = [await make_thumbnail.kiq(image_id=n) for n in range(5)]
results = [await t.wait_result(timeout=30) for t in tasks]
print(f"5 tasks enqueued and done in {time.perf_counter() - started:.2f} s")
for t, r in zip(tasks, results, strict=True):
    print(f"  {t.task_id[:8]}  ->  {r.return_value['path']}")
print("messages waiting now:", await email_broker.pending())

# %% [markdown]
# ## Clean up
#
# Stop the worker (SIGTERM, as `docker stop` would) and disconnect the client.

# %%
await email_broker.shutdown()
cleanup.close()
print("worker exit code:", worker.returncode)

# %% [markdown]
# **Next:** the `define_tasks` notebook shows what may travel in a task's arguments, and
# labels. Each notebook has a recipe of the same name in `recipes/`, the same lesson as a
# script (`python -m recipes.enqueue`).
