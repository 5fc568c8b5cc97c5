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
# # The task registry
#
# taskiq keeps one function per task name and lets the last import win, in silence: a worker
# could run the wrong code. The project's registry (`register_task(name, broker_name,
# task)`, called right after each task's definition) records every task by name, module and
# labels, **refuses a second function under a taken name** at import time, and counts the
# tasks per broker. This notebook uses the `registry` recipe's two tasks
# (`recipes/registry/tasks.py`, from two teams) and its route.

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

workdir, cleanup = setup("registry")

# %% [markdown]
# ## What this process registered
#
# Importing a task module registers its tasks. We import the registry recipe's module and,
# so that the table has more than two rows, the `enqueue` recipe's, whose two tasks call
# `register_task` too.

# %%
import recipes.enqueue.tasks
import recipes.registry.tasks  # noqa: F401  (imported for their registrations)
from reference_app.infrastructure.taskiq.registry import registered_tasks, tasks_per_broker

print(f"{'name':<28} {'function':<48} labels")
for task in registered_tasks("email_broker"):
    entry = task.as_dict()
    print(f"{entry['name']:<28} {entry['module'] + '.' + entry['function']:<48} {entry['labels']}")
print("\ntasks per broker:", tasks_per_broker())

# %% [markdown]
# ## A clash is refused
#
# Another function, even on another broker object, cannot take a name that is taken on
# `email_broker`. Without the registry, the last import would win.

# %%
from taskiq import InMemoryBroker

from reference_app.infrastructure.taskiq import register_task
from reference_app.infrastructure.taskiq.registry import DuplicateTaskError

other = InMemoryBroker()


@other.task(task_name="registry.resize_avatar")
async def resize_avatar_v2(user_id: int) -> str:
    return "a different function under a taken name"


try:
    register_task("registry.resize_avatar", "email_broker", resize_avatar_v2)
except DuplicateTaskError as exc:
    print(f"refused: {exc}")

# %% [markdown]
# Registering the *same* function again (a module imported twice, a notebook cell run
# twice) is allowed: only a different function under the same name is an error.

# %%
from recipes.registry.tasks import purge_sessions, resize_avatar

register_task("registry.resize_avatar", "email_broker", resize_avatar)
print("same function again: fine;", tasks_per_broker())

# %% [markdown]
# ## The registry over HTTP
#
# The recipe's router (`recipes/registry/router.py`) serves it; the reference app mounts
# the same at `GET /tasks/registry`. Here we call it in-process through httpx.

# %%
import httpx
from fastapi import FastAPI

from recipes.registry.router import router

app = FastAPI()
app.include_router(router)
async with httpx.AsyncClient(
    transport=httpx.ASGITransport(app=app), base_url="http://cookbook"
) as client:
    answer = await client.get("/tasks/registry", params={"broker": "email_broker"})
print(answer.status_code)
answer.json()["tasks"][-2:]

# %% [markdown]
# ## The labels travel with the tasks
#
# A worker runs the two teams' tasks; each result carries its task's labels.

# %%
from reference_app.infrastructure.taskiq import email_broker, run_worker
from taskiq_extras.processes import worker_process

await email_broker.startup()
with worker_process(run_worker, "recipes.registry.tasks"):
    for job in (await resize_avatar.kiq(user_id=5), await purge_sessions.kiq()):
        result = await job.wait_result(timeout=30)
        print(f"{result.labels.get('team', '?'):>5} team's task -> {result.return_value!r}")
await email_broker.shutdown()
cleanup.close()
