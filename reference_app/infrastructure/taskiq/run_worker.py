"""Start taskiq worker processes configured by the settings.

    python -m reference_app.infrastructure.taskiq.run_worker [extra taskiq worker flags]

taskiq reads no environment variable, so this launcher turns our settings into its flags:

| setting                       | taskiq worker flag        |
|-------------------------------|---------------------------|
| TASKIQ_WORKER_PROCESSES       | --workers                 |
| TASKIQ_WORKER_CONCURRENCY     | --max-async-tasks         |
| TASKIQ_MAX_TASKS_PER_WORKER   | --max-tasks-per-child     |
| TASKIQ_WAIT_TASKS_TIMEOUT     | --wait-tasks-timeout      |
| TASKIQ_SHUTDOWN_TIMEOUT       | --shutdown-timeout        |

It first checks that the broker answers (one clear line and exit code 2 if not), then replaces
itself with ``python -m taskiq worker ...`` so signals reach taskiq directly. Flags given on
the command line come last and win; module names given first are imported by the worker too
(``run_worker my_project.more_tasks --log-level DEBUG``).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from reference_app.infrastructure.config import ConfigurationError, Settings, quiet_logs

BROKER = "reference_app.infrastructure.taskiq.worker:email_broker"
RECEIVER = "reference_app.infrastructure.taskiq.receiver:DeadLetteringReceiver"
LAUNCHER = "reference_app.infrastructure.taskiq.run_worker"


# --8<-- [start:worker_argv]
def worker_argv(settings: Settings, extra: list[str] | None = None) -> list[str]:
    """The ``taskiq worker`` arguments for ``settings``; ``extra`` may start with modules."""
    extra = list(extra or [])
    modules = []  # extra task modules to import: they must follow the broker
    while extra and not extra[0].startswith("-"):
        modules.append(extra.pop(0))
    argv = [
        "worker",
        BROKER,
        *modules,
        "--workers", str(settings.TASKIQ_WORKER_PROCESSES),
        "--max-async-tasks", str(settings.TASKIQ_WORKER_CONCURRENCY),
        "--max-prefetch", "0",  # take a message only when a slot is free to run it
        "--wait-tasks-timeout", f"{settings.TASKIQ_WAIT_TASKS_TIMEOUT:g}",
        "--shutdown-timeout", f"{settings.TASKIQ_SHUTDOWN_TIMEOUT:g}",
        "--receiver", RECEIVER,
    ]  # fmt: skip
    if settings.TASKIQ_MAX_TASKS_PER_WORKER:
        argv += ["--max-tasks-per-child", str(settings.TASKIQ_MAX_TASKS_PER_WORKER)]
    return argv + extra


# --8<-- [end:worker_argv]


def check_imports(extra: list[str]) -> None:
    """Import what the worker processes will import, so that a missing module is one clear
    line here instead of worker processes dying and restarting in a loop."""
    modules = [BROKER.partition(":")[0]]
    for arg in extra:  # the extra task modules come first, before any flag
        if arg.startswith("-"):
            break
        modules.append(arg)
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise ConfigurationError(
                f"the worker cannot import {name!r}: {type(exc).__name__}: {exc}"
            ) from None


def main(extra: list[str] | None = None) -> None:
    extra = sys.argv[1:] if extra is None else extra
    try:
        # Imported here so that a bad setting is reported as one line, not a traceback.
        from reference_app.infrastructure.taskiq.brokers import _load_settings, check_broker

        settings = _load_settings()
        if not settings.TASKIQ_ENABLED:
            raise ConfigurationError(
                "TASKIQ_ENABLED=false runs tasks inside the web process: there is nothing for "
                "a worker to consume. Set TASKIQ_ENABLED=true to use worker processes."
            )
        with quiet_logs():  # client libraries log their own retries; we say it once
            asyncio.run(check_broker(settings))
        check_imports(extra)
    except ConfigurationError as exc:
        print(f"worker: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    argv = worker_argv(settings, extra)
    print(
        f"worker: {settings.broker_location()}, queue {settings.TASKIQ_QUEUE_NAME!r}: "
        f"python -m taskiq {shlex.join(argv)}",
        flush=True,
    )
    os.execv(sys.executable, [sys.executable, "-m", "taskiq", *argv])


@contextmanager
def worker_process(
    *modules: str, processes: int = 1, quiet: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """Run worker processes for the duration of a ``with`` block (recipes and notebooks).

    ``modules`` are extra task modules to import. The worker gets this process's settings
    (the environment). On exit it is stopped like `docker stop` would: SIGTERM, then SIGKILL
    if it is still running after 30 s.
    """
    command = [sys.executable, "-m", LAUNCHER, *modules, "--workers", str(processes)]
    if quiet:
        command += ["--log-level", "WARNING"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL if quiet else None,
        start_new_session=True,  # its own process group: we stop all of it, and only it
    )
    try:
        yield proc
    finally:
        for signum, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, signum)
                proc.wait(timeout=wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue


if __name__ == "__main__":
    main()
