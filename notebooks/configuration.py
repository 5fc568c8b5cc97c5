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
# # Configuration
#
# The task queue's settings (`TASKIQ_*`, `DATABASE_URL`) live in one pydantic-settings class
# (`reference_app/infrastructure/config/settings.py`), read from the environment and a
# `.env` file by `get_settings()`; each feature reads its own the same way (the users
# feature's `SECRET_KEY` in `modules/users/settings.py`, for example). One variable,
# `TASKIQ_BROKER_TYPE`, picks the broker:
# `sqlite` (the default, no server), `redis` or `rabbitmq`. The web process and its workers
# read the same variables, which is how they find the same queue. This notebook uses the
# `configuration` recipe (`recipes/configuration/`).

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

workdir, cleanup = setup("configuration")

# %% [markdown]
# ## The settings in use
#
# `get_settings()` reads the environment once per process and caches the result: that is
# why the cell above had to come first. Here are the ones that decide where tasks go, and
# whether each came from the environment or is the default.

# %%
import os

from reference_app.infrastructure.config import Settings, get_settings

settings = get_settings()
print(f"this process: {settings.broker_location()}, queue {settings.TASKIQ_QUEUE_NAME!r}\n")
for name in (
    "TASKIQ_BROKER_TYPE", "TASKIQ_SQLITE_PATH", "DATABASE_URL", "TASKIQ_QUEUE_NAME",
    "TASKIQ_WORKER_PROCESSES", "TASKIQ_WORKER_CONCURRENCY", "TASKIQ_RESULT_TTL_SECONDS",
):  # fmt: skip
    source = "environment" if name in os.environ else "default or .env"
    print(f"{name:<27} {source:<16} {getattr(settings, name)}")

# %% [markdown]
# Secrets are `SecretStr`: printing the settings, a log line or an error message shows
# stars, never the value. Here the broker's RabbitMQ password, and the key that signs the
# links in emails, from the users feature's own settings:

# %%
from reference_app.modules.users.settings import get_users_settings

print(repr(settings.TASKIQ_RABBITMQ_PASSWORD))
print(get_users_settings().SECRET_KEY)

# %% [markdown]
# ## One profile per broker type
#
# The recipe writes the same variables as keyword arguments, one `Settings` per broker type
# (`recipes/configuration/brokers.py`). Building a broker from them connects to nothing,
# only `startup()` does, so this cell needs no Redis and no RabbitMQ.

# %%
from recipes.configuration.brokers import PROFILES, broker_class_for

for name, profile in PROFILES.items():
    print(f"{name:<8} -> {broker_class_for(profile):<28} {profile.broker_location()}")

# %% [markdown]
# ## A wrong setting is refused, with its name
#
# Values are validated when the settings are read. `make run` and the worker launcher turn
# this error into one line naming the variable; here is the raw one.

# %%
from pydantic import ValidationError

try:
    Settings(_env_file=None, TASKIQ_BROKER_TYPE="kafka")
except ValidationError as exc:
    print("\n".join(str(exc).splitlines()[:3]))

# %% [markdown]
# ## The worker reads the same variables
#
# The worker process inherits this notebook's environment, so it reports the same broker
# and queue. A worker started with other variables would listen to another queue, and your
# tasks would wait forever: the first thing to check when "nothing happens".

# %%
from recipes.configuration.tasks import where_am_i
from reference_app.infrastructure.taskiq import email_broker
from reference_app.infrastructure.taskiq import run_worker
from taskiq_extras.processes import worker_process

await email_broker.startup()
with worker_process(run_worker, "recipes.configuration.tasks"):
    seen = (await (await where_am_i.kiq()).wait_result(timeout=30)).return_value
await email_broker.shutdown()
print(f"this process: {settings.broker_location()}, queue {settings.TASKIQ_QUEUE_NAME!r}")
print(f"the worker:   {seen['broker']}, queue {seen['queue']!r}")
cleanup.close()

# %% [markdown]
# To run the same notebook on Redis, you would pass `TASKIQ_BROKER_TYPE="redis"` (and
# `TASKIQ_REDIS_HOST=...`, ...) to `setup()` in the first cell; every setting is listed on
# the site's *Settings reference* page.
