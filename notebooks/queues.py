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
# # A second queue for slow tasks
#
# A worker runs only a few tasks at once (`TASKIQ_WORKER_CONCURRENCY`, 2 by default) and
# takes them in the order they came. When every slot holds a long export, a receipt that
# should leave in a blink waits for one of them to end. The cure is a second queue for the
# slow tasks, with workers of its own. With the `queues` recipe's tasks (`recipes/queues/`),
# this notebook:
#
# 1. shows the two broker objects, their two queues, and which task goes to which;
# 2. starts one worker per queue;
# 3. fills the slow queue's worker with two exports and sends a receipt: it is done at once.

# %% [markdown]
# ## Setup: this notebook's own files, with the second queue on
#
# `setup()` (`notebooks/nbsetup.py`) points the app at a fresh temporary folder with the
# embedded SQLite broker and returns `cleanup`, which stops what we start and removes the
# folder. We add one setting: `TASKIQ_SLOW_QUEUE=true`. It is read once, when the brokers
# are built on the first import from `reference_app`, so it has to be set before that; the
# worker processes started below inherit it, and so agree with this one.

# %%
from nbsetup import setup

workdir, cleanup = setup("queues", TASKIQ_SLOW_QUEUE="true")

# %% [markdown]
# ## Two broker objects, two queues
#
# `brokers.py` builds `email_broker`, the app's broker, from the settings. With the second
# queue on, it builds `slow_broker` from the same settings with one change, the queue name:
# `<TASKIQ_QUEUE_NAME>.slow`. Same kind of broker, same SQLite file here (same server with
# Redis or RabbitMQ), another queue. With the setting off, `slow_broker` would be
# `email_broker` itself, so code that names it works either way.

# %%
from reference_app.infrastructure.taskiq.brokers import email_broker, load_settings, slow_broker

settings = load_settings()
queue = settings.TASKIQ_QUEUE_NAME
print("two broker objects:", slow_broker is not email_broker)
print(f"email_broker's queue: {queue!r}")
print(f"slow_broker's queue:  {queue + '.slow'!r}")
print("the brokers say the same:", (email_broker.queue_name, slow_broker.queue_name))

# %% [markdown]
# A task belongs to the broker whose decorator it carries, and `.kiq()` sends it through
# that broker, to that broker's queue. The recipe puts the quick `send_receipt` on
# `email_broker` and the slow `build_export` on `slow_broker`; a decorated task keeps its
# broker in `.broker`. Each broker knows only its own tasks, and so do its workers.

# %%
from recipes.queues.tasks import build_export, send_receipt

for task in (send_receipt, build_export):
    print(
        f"{task.task_name}: on email_broker {task.broker is email_broker}, "
        f"on slow_broker {task.broker is slow_broker}"
    )
known = email_broker.find_task(build_export.task_name) is not None
print("email_broker knows build_export:", known)

# %% [markdown]
# ## One worker per queue
#
# First the client side: `start_brokers` starts both brokers in this process, which only
# sends tasks and reads their results. The last cell stops them; in case a cell fails first,
# `cleanup` stops them too when the kernel exits. By then the kernel's event loop no longer
# runs, so the function we give `cleanup` runs it once more for the shutdown.

# %%
import asyncio

from reference_app.infrastructure.taskiq.brokers import app_brokers, start_brokers

await start_brokers(load_settings())  # the client side of both brokers


async def stop_brokers() -> None:
    for broker in app_brokers():  # each broker object once
        await broker.shutdown()


kernel_loop = asyncio.get_running_loop()


def stop_brokers_on_exit() -> None:
    if kernel_loop.is_running():  # called from the last cell, which has stopped them already
        return
    stopping = kernel_loop.create_task(stop_brokers())
    stopping.add_done_callback(lambda _: kernel_loop.stop())
    while not stopping.done():  # a stop() the kernel left pending ends the first run early
        kernel_loop.run_forever()


cleanup.callback(stop_brokers_on_exit)
print("brokers started:", len(app_brokers()))

# %% [markdown]
# Then the workers, as `make worker` and `make worker QUEUE=slow` start them:
# `run_worker` runs `taskiq worker` on `worker:email_broker`, and with `--queue slow` on
# `worker:slow_broker`. Both import the recipe's tasks module; each runs the tasks of its
# own broker only. Entered into `cleanup`, they keep running across cells and are stopped
# at the end.

# %%
from reference_app.infrastructure.taskiq import run_worker
from taskiq_extras.processes import worker_process

TASKS = "recipes.queues.tasks"
default_worker = cleanup.enter_context(worker_process(run_worker, TASKS))
slow_worker = cleanup.enter_context(worker_process(run_worker, TASKS, "--queue", "slow"))
print(f"worker of {queue!r}: pid {default_worker.pid}")
print(f"worker of {queue + '.slow'!r}: pid {slow_worker.pid}")

# %% [markdown]
# A worker takes a few seconds to start. So that what we measure next is the queues and not
# the start-up, each worker first runs one quick task, and we wait for both.

# %%
warm_ups = {
    queue: await send_receipt.kiq(order_id=0),
    f"{queue}.slow": await build_export.kiq(order_id=0, seconds=0),
}
for name, task in warm_ups.items():
    result = await task.wait_result(timeout=60)
    print(f"the worker of {name!r} answered:", not result.is_err)

# %% [markdown]
# ## Two slow exports, then a receipt
#
# Two exports of 3 seconds each go to the slow queue: as many as its worker runs at once, so
# it has no slot left. Then a receipt goes to the default queue. On a single queue it would
# wait for an export to end; here the other worker takes it at once. We print yes/no
# answers rather than times, so every run of the notebook prints the same.

# %%
import time

exports = [await build_export.kiq(order_id=n, seconds=3) for n in (1, 2)]
queued = time.time()
receipt = await send_receipt.kiq(order_id=3)
sent = (await receipt.wait_result(timeout=30)).return_value
exports_running = [not await export.is_ready() for export in exports]
print("receipt sent within a second:", sent["sent_at"] - queued < 1)
print("both exports still running then:", all(exports_running))

# %% [markdown]
# The exports finish in their own time, after the receipt:

# %%
finished = [(await export.wait_result(timeout=30)).return_value for export in exports]
print("exports done:", [done["order_id"] for done in finished])
after = all(sent["sent_at"] < done["finished_at"] for done in finished)
print("both finished after the receipt was sent:", after)

# %% [markdown]
# The setting is read once per process, so this notebook cannot switch it off. The recipe
# shows the other side: `TASKIQ_SLOW_QUEUE=false make recipe NAME=queues` puts everything
# on one queue, and the receipt waits about 3 seconds behind the exports.
#
# ## What goes wrong
#
# - **Every process must agree on `TASKIQ_SLOW_QUEUE`.** An API that has it sends slow
#   tasks to the slow queue; if no worker was started with `--queue slow` and the same
#   setting, they stay queued forever. Here `setup()` set it before anything was imported,
#   and the workers inherited it. `run_worker --queue slow` refuses to start with it off.
# - **A task belongs to one broker**, chosen by its decorator when it is defined, as
#   `.broker` showed. To move a task, change its decorator, and deploy the new queue's
#   workers before the API that sends there.
# - **The scheduler sends through the default broker.** A slow task it sends lands on the
#   default queue, whose workers do not know it (`email_broker` did not find
#   `build_export` above), and it is dead-lettered as an unknown task. Schedule a small
#   task on the default broker that sends the slow one with `.kiq()`.
# - **A queue is not a priority.** It keeps quick tasks from waiting behind slow ones; it
#   runs nothing sooner than that queue's workers can take it. Size each queue's workers
#   for its own load.
#
# The docs page *A second queue for slow tasks* (`docs/recipes/queues.md`) says more, with
# the commands that run each queue's workers.
#
# ## Clean up
#
# Stop the brokers' client side, then both workers (SIGTERM, as `docker stop` would): each
# finishes what it holds and exits with 0.

# %%
await stop_brokers()
cleanup.close()
print("worker of the default queue stopped, exit code", default_worker.returncode)
print("worker of the slow queue stopped, exit code", slow_worker.returncode)
