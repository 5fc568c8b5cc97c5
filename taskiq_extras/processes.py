"""Extras: run worker (or scheduler) processes for the length of a ``with`` block.

    from taskiq_extras.processes import worker_process
    with worker_process(run_worker, "my_project.tasks"):  # python -m <run_worker> my_project.tasks
        ...

For recipes, notebooks and tests: the workers get this process's environment, and on exit
they are stopped as ``docker stop`` would: SIGTERM to their process group, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType


@contextmanager
def worker_process(
    launcher: ModuleType | str, *args: str, processes: int = 1, quiet: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m <launcher> <args> --workers <processes>`` until the block ends.

    ``launcher`` is a module (or its name) that takes ``taskiq worker``'s flags, such as
    ``taskiq`` itself with ``"worker", "module:broker"`` as ``args``.
    """
    with _child(launcher, [*args, "--workers", str(processes)], quiet, "worker") as proc:
        yield proc


@contextmanager
def scheduler_process(
    launcher: ModuleType | str, *args: str, quiet: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m <launcher> <args>`` (a ``taskiq scheduler``) until the block ends."""
    with _child(launcher, list(args), quiet, "scheduler") as proc:
        yield proc


@contextmanager
def _child(
    launcher: ModuleType | str, args: list[str], quiet: bool, what: str
) -> Iterator[subprocess.Popen[bytes]]:
    name = launcher if isinstance(launcher, str) else launcher.__name__
    command = [sys.executable, "-m", name, *args]
    if quiet:
        command += ["--log-level", "WARNING"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL if quiet else None,
        start_new_session=True,  # its own process group: we stop all of it, and only it
    )
    finished = threading.Event()

    def report_early_exit() -> None:  # a worker that cannot start says so, not a later timeout
        code = proc.wait()
        if not finished.is_set() and code != 0:
            print(f"{what}_process: the {what} exited with code {code} (its reason is above)",
                  file=sys.stderr, flush=True)  # fmt: skip

    threading.Thread(target=report_early_exit, daemon=True).start()
    try:
        yield proc
    finally:
        finished.set()
        for signum, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, signum)
                proc.wait(timeout=wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
