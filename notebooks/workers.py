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
# # Workers
#
# The web process only enqueues; **workers** are the separate processes that take messages
# and run the tasks. Two numbers size a worker:
#
# | setting | taskiq flag | what it is |
# |---|---|---|
# | `TASKIQ_WORKER_PROCESSES` | `--workers` | separate Python processes (CPU cores) |
# | `TASKIQ_WORKER_CONCURRENCY` | `--max-async-tasks` | tasks one process runs at once, on its event loop |
#
# This notebook starts a worker with two processes, sends it a batch of the `workers`
# recipe's task (`recipes/workers/tasks.py`: it waits 200 ms like an HTTP call would, and
# reports its process id and times), and draws who ran what, when. Then it doubles the
# concurrency and runs the batch again.

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

workdir, cleanup = setup("workers")

# %% [markdown]
# ## A batch, and who ran it

# %%
import os
import time
from collections import defaultdict

from recipes.workers.tasks import most_at_once, report_pid
from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq import run_worker
from taskiq_extras.processes import worker_process

await email_broker.startup()


async def run_batch(jobs: int, hold_ms: int = 200) -> list[dict]:
    tasks = [await report_pid.kiq(job=n, hold_ms=hold_ms) for n in range(jobs)]
    return [(await task.wait_result(timeout=60)).return_value for task in tasks]


async def run_on_a_fresh_worker(concurrency: int, jobs: int = 16) -> list[dict]:
    """Start a 2-process worker with this concurrency, warm it up, run a batch, stop it."""
    os.environ["TASKIQ_WORKER_CONCURRENCY"] = str(concurrency)  # read by the new worker
    with worker_process(run_worker, "recipes.workers.tasks", processes=2):
        # The processes start one after the other: wait until both have taken work. One
        # process holds at most about twice its concurrency (running, and claimed in one
        # go), so a warm-up batch larger than that must reach the second one once it is up.
        deadline = time.monotonic() + 30
        while len({r["pid"] for r in await run_batch(2 * concurrency + 2, 100)}) < 2:
            assert time.monotonic() < deadline, "the second worker process never took a task"
        return await run_batch(jobs)


def timeline(runs: list[dict], scale: float = 1.0, width: int = 60) -> None:
    """One line per task, `width` characters for `scale` seconds, grouped by worker process."""
    t0 = min(r["started"] for r in runs)
    span = max(r["finished"] for r in runs) - t0
    print(f"{len(runs)} tasks of 200 ms: {span:.2f} s from the first start to the last end")
    span = max(span, scale)  # the same scale for every timeline, unless one is longer
    per_process = defaultdict(list)
    for run in runs:
        per_process[run["pid"]].append(run)
    for pid, mine in sorted(per_process.items()):
        print(f"pid {pid}: {len(mine)} tasks, at most {most_at_once(mine)} at once")
        for run in sorted(mine, key=lambda r: r["started"]):
            start = round((run["started"] - t0) / span * width)
            end = max(start + 1, round((run["finished"] - t0) / span * width))
            print(f"  job {run['job']:>2} |{' ' * start}{'█' * (end - start)}{' ' * (width - end)}|")
    print(f"  {'':>6} 0 s{'':>{width - 8}}{span:.2f} s")


timeline(await run_on_a_fresh_worker(concurrency=2))

# %% [markdown]
# Each process ran about half of the batch, and never more than `TASKIQ_WORKER_CONCURRENCY`
# (2) tasks at once: 2 processes × 2 = 4 tasks at a time, so 16 tasks of 200 ms take four
# rounds, about 0.8 s.
#
# ## Twice the concurrency
#
# taskiq reads no environment variable; our launcher (`run_worker`, which
# `worker_process` runs) maps the setting onto `--max-async-tasks`. This kernel's own
# settings were read once and do not change; the new worker reads the new value.

# %%
timeline(await run_on_a_fresh_worker(concurrency=4))

# %% [markdown]
# Eight at a time: the same batch needs two rounds instead of four. Raise the concurrency for
# tasks that *wait* (HTTP, SMTP, the database); for tasks that *compute*, raise the
# processes instead, up to about the number of cores, since one process runs Python on one
# core at a time.
#
# Recycling (`TASKIQ_MAX_TASKS_PER_WORKER`) and graceful shutdown on SIGTERM are explained
# on the site's *Workers in production* page, and proved by the reference app's tests.
#
# ## Clean up
#
# Each worker was stopped by its `with` block; disconnect the client.

# %%
await email_broker.shutdown()
cleanup.close()
