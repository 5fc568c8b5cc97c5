"""Core: start taskiq worker processes configured by the settings (``make worker``).

    python -m <app>.infrastructure.taskiq.run_worker [extra taskiq worker flags]

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
import sys

from pydantic import ValidationError

from ..config import ConfigurationError, Settings, describe_validation_error, quiet_logs

BROKER = f"{__package__}.worker:email_broker"  # the worker entry beside this file


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
    ]  # fmt: skip
    if settings.TASKIQ_EXTRAS:  # extras: poison messages go to the dead letters
        argv += ["--receiver", "taskiq_extras.receiver:DeadLetteringReceiver"]
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
        except ValidationError as exc:  # a feature's settings, read as its tasks are imported
            raise ConfigurationError(describe_validation_error(exc)) from None
        except Exception as exc:
            raise ConfigurationError(
                f"the worker cannot import {name!r}: {type(exc).__name__}: {exc}"
            ) from None


def main(extra: list[str] | None = None) -> None:
    extra = sys.argv[1:] if extra is None else extra
    try:
        # Imported here so that a bad setting is reported as one line, not a traceback.
        from .brokers import check_broker, load_settings

        settings = load_settings()
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


if __name__ == "__main__":
    main()
