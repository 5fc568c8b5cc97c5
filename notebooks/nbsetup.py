"""Notebook setup: a private folder, database and queue for one notebook, in one line.

    from nbsetup import setup
    workdir, cleanup = setup("enqueue")

Not a notebook, and not part of the app: the plumbing every notebook needs before it may
import anything from ``reference_app``. The project reads its settings from the environment
once per process, and the worker processes a notebook starts inherit that environment, so
``setup`` must run first. It:

- makes a fresh temporary folder (``workdir``) for this notebook;
- points the app at it: ``TASKIQ_ENABLED=true``, ``TASKIQ_BROKER_TYPE=sqlite`` (the embedded
  broker, no server), ``TASKIQ_SQLITE_PATH`` and ``DATABASE_URL`` in that folder, and
  ``DEV_MODE=true`` (a notebook is local development: the app accepts its default
  ``SECRET_KEY`` only then); keyword arguments add or replace variables;
- returns ``cleanup``, an ``ExitStack`` that removes the folder. A notebook enters its worker
  into it (``cleanup.enter_context(worker_process(...))``) and closes it in its last cell; it
  is also closed if a cell fails: when the kernel exits, or when Jupyter stops the kernel with
  SIGTERM (a kernel that still holds the broker's connection does not exit by itself).

Jupyter and nbmake run a notebook with its own folder as the working directory, which puts
this file on ``sys.path``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

__all__ = ["free_port", "setup"]


def setup(name: str, **overrides: str | int | float | bool) -> tuple[Path, ExitStack]:
    """Give the notebook ``name`` its own folder, database and queue; return the folder and
    the ``ExitStack`` that cleans up. ``overrides``: more settings, as environment variables
    (``setup("retries", TASKIQ_RETRY_DELAY=0.5)``)."""
    if _settings_already_read():
        raise RuntimeError(
            "this kernel has already read the app's settings, so new ones would not be seen: "
            "restart the kernel, then run the notebook from the top"
        )
    workdir = Path(tempfile.mkdtemp(prefix=f"nb-{name}-"))
    cleanup = ExitStack()
    cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
    atexit.register(cleanup.close)

    def stop(signum: int, frame: object) -> None:
        cleanup.close()
        os._exit(128 + signum)  # what SIGTERM would have done, after the cleanup

    signal.signal(signal.SIGTERM, stop)
    os.environ.update(
        TASKIQ_ENABLED="true",
        TASKIQ_BROKER_TYPE="sqlite",  # the embedded broker: no server
        TASKIQ_SQLITE_PATH=f"{workdir}/taskiq-broker.db",
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/app.db",
        DEV_MODE="true",  # local development: the default SECRET_KEY is accepted
    )
    os.environ.update({key: _env_value(value) for key, value in overrides.items()})
    print(f"this notebook's files: {workdir}")
    return workdir, cleanup


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1: for a server the notebook starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env_value(value: str | int | float | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _settings_already_read() -> bool:
    """True once this process has read the app's settings (they are cached from then on)."""
    module = sys.modules.get("reference_app.infrastructure.config.settings")
    return module is not None and module.get_settings.cache_info().currsize > 0
