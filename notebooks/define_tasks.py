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
# A task is an `async def` function given to a broker with `@broker.task`. Its `.kiq()`
# writes the call into a message (the task's name, the arguments as JSON) and hands it to
# the broker; whoever takes the message runs the function and stores the result.
#
# Here that "whoever" is this notebook itself: the recipe `recipes/define_tasks/tasks.py`
# puts its three tasks on taskiq's `InMemoryBroker`, which runs each task in the process
# that enqueued it. No server, no worker, nothing to set up. We import the recipe's tasks
# rather than copy them:
#
# - `summarise(numbers)`: plain JSON in, plain JSON out;
# - `total_invoice(invoice)`: a pydantic model as a parameter;
# - `rebuild_index(documents)`: labels on the decorator (`timeout=5`, `team="search"`).

# %%
from recipes.define_tasks.tasks import Invoice, broker, rebuild_index, summarise, total_invoice

print(type(broker).__name__)
for task in (summarise, total_invoice, rebuild_index):
    print(f"{task.task_name:<28} labels={task.labels}")

# %% [markdown]
# ## Enqueue the three tasks
#
# Start the broker, then call `.kiq()` with the task's own arguments. Each call returns at
# once with a handle; `wait_result()` waits for the run and gives back its result. The
# invoice goes into the message as JSON and reaches the task as an `Invoice` again.

# %%
await broker.startup()

jobs = [
    await summarise.kiq([3, 4, 8]),
    await total_invoice.kiq(Invoice(number="INV-7", lines=[100, 50])),
    await rebuild_index.kiq(documents=1200),
]
results = [await job.wait_result(timeout=5) for job in jobs]
for job, result in zip(jobs, results, strict=True):
    print(f"{job.task_id[:8]}  ->  {result.return_value}")

# %% [markdown]
# ## Labels travel with the message
#
# The decorator's labels are on the task object, and each message carries them, so the
# result of `rebuild_index` reports them too.

# %%
print("on the task:  ", rebuild_index.labels)
print("on the result:", results[2].labels)

# %% [markdown]
# ## Called directly, a task is a plain function
#
# Awaiting the task itself, without `.kiq()`, runs the function here and now, with no
# message at all: handy in a unit test. Nothing is read back against the type hints either,
# so `max` is the `8` we passed, where the run through `.kiq()` above gave `8.0` (the
# parameter is `list[float]`).

# %%
print(await summarise([3, 4, 8]))
print(await total_invoice(Invoice(number="INV-1", lines=[100, 50])))

# %% [markdown]
# ## What cannot travel
#
# An argument that JSON cannot hold (here an object standing for an ORM row) stops
# `.kiq()` in the caller. Stock taskiq says only `Cannot send task to the queue`; the reason
# is in the exception it chains. (With the project's extras on, the reference app's broker
# refuses it with a `TaskArgumentError` that names the argument.)

# %%
from taskiq.exceptions import SendTaskError


class Order:  # stands for any object that is not plain data
    id = 42


try:
    await summarise.kiq(Order())
except SendTaskError as exc:
    print(f"{type(exc).__name__}: {exc}")
    print(f"  because {type(exc.__cause__).__name__}: {exc.__cause__}")

# %% [markdown]
# ## Data that does not fit the model
#
# A dict with no invoice lines is valid JSON, so `.kiq()` sends it. Stock taskiq logs a
# warning ("Can't parse argument 0") and calls the task with the raw dict anyway; the task
# then fails inside, far from the real cause. The log below shows both, and a third line,
# "Cannot parse return type", which only says that a failed run has no return value to
# read. (A worker with the project's extras refuses such a message before the task runs,
# and keeps it in the broker's dead letters: see the pitfalls of the "Defining tasks" page.)

# %%
bad = await total_invoice.kiq({"number": "INV-8", "lines": []})
result = await bad.wait_result(timeout=5)
print("is_err:", result.is_err)
print(f"{type(result.error).__name__}: {result.error}")

# %% [markdown]
# ## Stop the broker

# %%
await broker.shutdown()
