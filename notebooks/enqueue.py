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
# # Enqueueing tasks
#
# `.kiq()` puts a message on the queue and returns at once with a handle: the task id.
# This notebook enqueues the `enqueue` recipe's tasks (`recipes/enqueue/`) the three ways
# an app does it: from a service function, with a task id and labels of your choosing, and
# from a FastAPI route that answers `202 Accepted`. Then it waits for results, with care.

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

workdir, cleanup = setup("enqueue")

# %% [markdown]
# ## A client and a worker
#
# `email_broker.startup()` makes this process a client of the broker (a FastAPI app does it
# in its lifespan, see `recipes/enqueue/app.py`). The worker is a separate process that
# imports the recipe's task module; `cleanup` stops it at the end.

# %%
from recipes.enqueue.service import request_thumbnail, request_urgent_thumbnail
from recipes.enqueue.tasks import export_archive, make_thumbnail
from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq import run_worker
from taskiq_extras.processes import worker_process

await email_broker.startup()
worker = cleanup.enter_context(worker_process(run_worker, "recipes.enqueue.tasks"))

# %% [markdown]
# ## From a service function
#
# `request_thumbnail` knows nothing of FastAPI, so a route, a script or a CLI can call it.
# It returns the task id as soon as the message is queued:

# %%
import time

started = time.perf_counter()
task_id = await request_thumbnail(image_id=7)
print(f"queued make_thumbnail in {1000 * (time.perf_counter() - started):.1f} ms")
print("task id:", task_id)

# %% [markdown]
# ## Your own task id, and labels for one message
#
# `.kicker()` sets options for a single call. A task id you choose can be saved on a row
# *before* queueing, so the row always knows its task:

# %%
urgent_id = await request_urgent_thumbnail(image_id=8)
print("task id:", urgent_id)

# %% [markdown]
# ## Waiting for a result: always with a timeout
#
# Any process can ask for a task's result by its id. `wait_result(timeout=...)` polls the
# result backend; a result is either a return value or an error.

# %%
from taskiq import AsyncTaskiqTask

for tid in (task_id, urgent_id):
    result = await AsyncTaskiqTask(tid, email_broker.result_backend).wait_result(timeout=30)
    value = result.error if result.is_err else result.return_value["path"]
    print(f"{tid:<40} labels={result.labels}  ->  {value}")

# %% [markdown]
# The labels given to the kicker travelled with that one message. When the caller's patience
# is shorter than the task, `wait_result` raises `TaskiqResultTimeoutError`, and the task is
# **not** cancelled: it goes on in the worker, and its result can be read later.

# %%
from taskiq.exceptions import TaskiqResultTimeoutError

slow = await export_archive.kiq(seconds=2)
try:
    await slow.wait_result(timeout=0.5)
except TaskiqResultTimeoutError:
    print("not ready after 0.5 s; ready now?", await slow.is_ready())
done = await slow.wait_result(timeout=30)
print("later:", done.return_value)

# %% [markdown]
# ## From a FastAPI route: answer 202 at once
#
# The recipe's app (`recipes/enqueue/app.py`) enqueues in `POST /thumbnails` and answers
# `202 Accepted` with a status URL that the client polls. We call it in-process through
# httpx's ASGI transport; it does not run the app's lifespan, which is fine here because
# this notebook already started the broker client.

# %%
import asyncio

import httpx

from recipes.enqueue.app import app

transport = httpx.ASGITransport(app=app)
async with httpx.AsyncClient(transport=transport, base_url="http://cookbook") as client:
    started = time.perf_counter()
    answer = await client.post("/thumbnails", json={"image_id": 9, "width": 64})
    print(f"POST /thumbnails -> {answer.status_code} in {1000 * (time.perf_counter() - started):.0f} ms")
    print(answer.json())
    status_url = answer.json()["status_url"]
    for _ in range(100):
        status = (await client.get(status_url)).json()
        print("GET status ->", status["status"])
        if status["status"] != "pending":
            break
        await asyncio.sleep(0.05)
status

# %% [markdown]
# ## Clean up

# %%
await email_broker.shutdown()
cleanup.close()
print("worker stopped, exit code", worker.returncode)
