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
(``run_worker my_project.more_tasks --log-level DEBUG``); ``--queue slow`` runs the workers of
the second queue.
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
# `--queue slow` (make worker QUEUE=slow): the workers of the second queue (TASKIQ_SLOW_QUEUE)
QUEUES = {"default": BROKER, "slow": f"{__package__}.worker:slow_broker"}
SCHEDULER = f"{__package__}.scheduler:scheduler"  # the scheduler entry (run_scheduler)


# --8<-- [start:worker_argv]
def worker_argv(
    settings: Settings, extra: list[str] | None = None, queue: str = "default"
) -> list[str]:
    """The ``taskiq worker`` arguments for ``settings``; ``extra`` may start with modules."""
    extra = list(extra or [])
    modules = []  # extra task modules to import: they must follow the broker
    while extra and not extra[0].startswith("-"):
        modules.append(extra.pop(0))
    argv = [
        "worker",
        QUEUES[queue],
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


def check_imports(entry: str, extra: list[str]) -> None:
    """Import what the worker processes will import, so that a missing module is one clear
    line here instead of worker processes dying and restarting in a loop."""
    modules = [entry.partition(":")[0]]
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


def main(extra: list[str] | None = None, scheduler: bool = False) -> None:
    """Check, then become ``taskiq worker`` (or, for ``run_scheduler``, ``taskiq scheduler``)."""
    extra, queue = list(sys.argv[1:] if extra is None else extra), "default"
    if "--queue" in extra:  # --queue slow: the workers of the second queue
        at = extra.index("--queue")
        queue = (extra[at + 1 : at + 2] or [""])[0]
        del extra[at : at + 2]
    role = "scheduler" if scheduler else "worker"
    try:
        # Imported here so that a bad setting is reported as one line, not a traceback.
        from .brokers import check_broker, load_settings

        settings = load_settings()
        if not settings.TASKIQ_ENABLED:
            raise ConfigurationError(
                "TASKIQ_ENABLED=false runs tasks inside the web process: there is nothing for "
                f"a {role} to do. Set TASKIQ_ENABLED=true to use worker processes."
            )
        if queue not in QUEUES or (queue == "slow" and not settings.TASKIQ_SLOW_QUEUE):
            need = "slow needs TASKIQ_SLOW_QUEUE=true (API, workers, scheduler)"
            raise ConfigurationError(f"--queue {queue!r}: the queues are {list(QUEUES)}; {need}")
        with quiet_logs():  # client libraries log their own retries; we say it once
            asyncio.run(check_broker(settings))
        check_imports(SCHEDULER if scheduler else QUEUES[queue], extra)
    except ConfigurationError as exc:
        print(f"{role}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    argv = worker_argv(settings, extra, queue)
    if scheduler:  # TASKIQ_SCHEDULE_REFRESH_SECONDS: how soon a new runtime schedule is seen
        refresh = str(settings.TASKIQ_SCHEDULE_REFRESH_SECONDS)
        argv = ["scheduler", SCHEDULER, *extra, "--update-interval", refresh]
    name = settings.TASKIQ_QUEUE_NAME + (".slow" if queue == "slow" else "")
    print(f"{role}: {settings.broker_location()}, queue {name!r}: "
          f"python -m taskiq {shlex.join(argv)}", flush=True)  # fmt: skip
    os.execv(sys.executable, [sys.executable, "-m", "taskiq", *argv])


if __name__ == "__main__":
    main()
