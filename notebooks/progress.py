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

# %%

# %% [markdown]
# # Progress from a running task
#
# A long task can say how far it has got: a `ProgressTracker` dependency stores its progress in
# the result backend, and any process that knows the task id reads the last one back. This
# notebook runs the `progress` recipe's import task (`recipes/progress/`) in a worker, watches
# its progress from here, and looks at what is stored, and for how long.

# %% [markdown]
# ## Setup: this notebook's own database and queue
#
# `setup()` (`notebooks/nbsetup.py`) points the app at a fresh temporary folder with the
# embedded SQLite broker, before anything is imported from `reference_app`, and returns
# `cleanup`, which stops the worker and removes the folder at the end.

# %%
from nbsetup import setup

workdir, cleanup = setup("progress")

# %% [markdown]
# ## A client and a worker
#
# This process becomes a client of the broker (a FastAPI app does it in its lifespan); the
# worker is a separate process that imports the recipe's tasks.

# %%
from recipes.progress.tasks import how_far, import_rows
from reference_app.infrastructure.taskiq import email_broker, run_worker
from taskiq_extras.processes import worker_process

await email_broker.startup()
worker = cleanup.enter_context(worker_process(run_worker, "recipes.progress.tasks"))

# %% [markdown]
# ## The task reports, we read
#
# `import_rows` imports 1,000 rows in chunks of 100 and calls `set_progress` after each chunk.
# Here we enqueue it and read its progress every 50 ms until its result is ready, keeping
# what we read and when. `how_far` is the recipe's reader: it needs only the task id.

# %%
import asyncio
import time

task = await import_rows.kiq(total=1000, chunk=100)
started = time.perf_counter()
samples = []  # (seconds since kiq, rows done as the last progress said)
while not await task.is_ready():
    progress = await task.get_progress()
    samples.append((time.perf_counter() - started, progress.meta["done"] if progress else 0))
    await asyncio.sleep(0.05)
result = await task.wait_result(timeout=30)
counts = [done for _, done in samples]
print("result:", result.return_value)
print("read while it ran, the count never went back:", counts == sorted(counts))
print("it moved at least five times:", len(set(counts)) >= 5)
print("now:", await how_far(task.task_id))

# %% [markdown]
# Each read gave the *last* progress the task had stored: a step between two reads is never
# seen. Plotted against time:

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(8, 3))
ax.step([t for t, _ in samples], counts, where="post")
ax.set_xlabel("seconds since .kiq()")
ax.set_ylabel("rows done (last progress read)")
ax.set_title("progress of progress.import_rows, read every 50 ms")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What is stored, and for how long
#
# With the SQLite broker, progress is a row of the `taskiq_progress` table in the broker's
# file, as JSON, one row per task: each `set_progress` replaced the last. It expires with the
# same time to live as results (`TASKIQ_RESULT_TTL_SECONDS`, an hour by default), counted from
# the last `set_progress`, and it is still there now that the result is stored.

# %%
import sqlite3

with sqlite3.connect(workdir / "taskiq-broker.db") as db:
    rows = db.execute(
        "SELECT task_id, payload, expires_at FROM taskiq_progress WHERE task_id = ?",
        (task.task_id,),
    ).fetchall()
for task_id, payload, expires_at in rows:
    print("payload:", payload)
    print(f"expires in about {round((expires_at - time.time()) / 60)} minutes")
await task.get_progress()

# %% [markdown]
# That is why a reader asks whether the task is done *before* it looks at progress, as
# `how_far` does: the progress alone would show this finished task as `STARTED` for an hour.
#
# ## Progress is only what was written
#
# Nothing checks that the task behind a progress is alive, or even exists: progress is data
# someone wrote. Here we write one for a task that never ran, straight into the backend:

# %%
from taskiq.depends.progress_tracker import TaskProgress, TaskState

await email_broker.result_backend.set_progress(
    "no-such-task", TaskProgress(state=TaskState.STARTED, meta={"done": 40, "total": 100})
)
print(await email_broker.result_backend.get_progress("no-such-task"))

# %% [markdown]
# A worker that dies mid-task leaves its last progress behind the same way, until it expires.
# Whether a task is still running is for the broker (it delivers the task again once the
# dead worker's lease runs out) and for the monitoring page, not for the progress.
#
# ## Clean up

# %%
await email_broker.shutdown()
cleanup.close()
print("worker stopped, exit code", worker.returncode)
