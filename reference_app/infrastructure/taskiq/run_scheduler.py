"""Core: start the scheduler process configured by the settings (``make scheduler``).

    python -m <app>.infrastructure.taskiq.run_scheduler [more task modules] [taskiq flags]

Like ``run_worker``: it checks the settings and the broker first (one line and exit code 2 if
one is wrong), then replaces itself with ``python -m taskiq scheduler ...``.
TASKIQ_SCHEDULE_REFRESH_SECONDS becomes ``--update-interval``: how soon a schedule added at
run time is seen.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys

from ..config import ConfigurationError, quiet_logs
from .run_worker import check_imports

SCHEDULER = f"{__package__}.scheduler:scheduler"  # the scheduler entry beside this file


def main(extra: list[str] | None = None) -> None:
    extra = sys.argv[1:] if extra is None else extra
    try:
        from .brokers import check_broker, load_settings

        settings = load_settings()
        if not settings.TASKIQ_ENABLED:
            raise ConfigurationError("TASKIQ_ENABLED=false: there is no broker to send to.")
        with quiet_logs():
            asyncio.run(check_broker(settings))
        check_imports([SCHEDULER.partition(":")[0], *extra])
    except ConfigurationError as exc:
        print(f"scheduler: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    argv = ["scheduler", SCHEDULER, *extra,
            "--update-interval", str(settings.TASKIQ_SCHEDULE_REFRESH_SECONDS)]  # fmt: skip
    print(f"scheduler: python -m taskiq {shlex.join(argv)}", flush=True)
    os.execv(sys.executable, [sys.executable, "-m", "taskiq", *argv])


if __name__ == "__main__":
    main()
