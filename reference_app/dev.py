"""``make run``: the API, a worker and a scheduler process, side by side, on the embedded default.

    python -m reference_app.dev [--host 127.0.0.1] [--port 8000]

It checks the configuration and the broker first (one clear line if something is wrong), starts
uvicorn, the taskiq worker launcher and the scheduler as child processes, each in its own
process group, prints the URLs, and on Ctrl-C (or SIGTERM) stops every group: SIGTERM first,
SIGKILL for whatever is still running after the grace period, so no process is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from reference_app.infrastructure.config import ConfigurationError, quiet_logs

GRACE_SECONDS = 15.0


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _wait_until_serving(
    host: str, port: int, proc: subprocess.Popen[bytes], deadline: float
) -> bool:
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for child in children:
        try:  # the group, not only the leader: taskiq's worker children too
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait()


def _build_guide(site: Path) -> str:
    """Build the docs site if it is missing or older than its sources (a few seconds)."""
    sources = [Path("mkdocs.yml"), *Path("docs").rglob("*")]
    if not sources[0].exists():
        return "  (no mkdocs.yml here: the guide is not built)"
    newest = max(path.stat().st_mtime for path in sources if path.exists())
    index = site / "index.html"
    if index.exists() and index.stat().st_mtime >= newest:
        return ""
    print("make run: building the guide (the docs site)...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(site)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return f"  (not built: {done.stderr.strip().splitlines()[-1:]})"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)

    # Development on this machine: the default SECRET_KEY is accepted, /mail and the admin
    # pages open to this machine's own connections. Set here, for `make run` only.
    os.environ.setdefault("DEV_MODE", "true")
    os.environ.setdefault("REPORTS_MAX_DELAY_MS", "10000")  # the demo's slow reports
    # Reports on a queue of their own, with a worker of their own: a slow one never holds up
    # an email (docs: Queues).
    os.environ.setdefault("TASKIQ_SLOW_QUEUE", "true")
    try:
        from reference_app.infrastructure.taskiq.brokers import check_broker, load_settings
        from reference_app.migrate import prepare_database
        from reference_app.modules.email.settings import get_email_settings
        from reference_app.settings import check_settings, get_app_settings

        check_settings()
        settings = load_settings()
        email, app = get_email_settings(), get_app_settings()
        # The schema first: a SQLite file is upgraded here (no step of yours); a database
        # server that is behind gets one line saying to run `make migrate`.
        asyncio.run(prepare_database(settings.DATABASE_URL))
        if settings.TASKIQ_ENABLED:
            with quiet_logs():
                asyncio.run(check_broker(settings))
    except ConfigurationError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    if not _port_free(args.host, args.port):
        print(
            f"make run: port {args.port} on {args.host} is in use; stop what uses it or run "
            f"`.venv/bin/python -m reference_app.dev --port {args.port + 1}`",
            file=sys.stderr,
        )
        return 2

    python = sys.executable
    commands = [
        [python, "-m", "uvicorn", "--factory", "reference_app.main:create_app",
         "--host", args.host, "--port", str(args.port),
         "--no-proxy-headers"],  # no proxy here: the peer address is the client's
    ]  # fmt: skip
    if settings.TASKIQ_ENABLED:
        commands.append([python, "-m", "reference_app.infrastructure.taskiq.run_worker"])
        if settings.TASKIQ_SLOW_QUEUE:
            commands.append([python, "-m", "reference_app.infrastructure.taskiq.run_worker",
                             "--queue", "slow", "--workers", "1"])  # fmt: skip
        commands.append([python, "-m", "reference_app.infrastructure.taskiq.run_scheduler"])
    # The local mail catcher, unless SMTP points elsewhere or something (Mailpit?) listens.
    mail = f"{email.SMTP_HOST}:{email.SMTP_PORT} (not ours: SMTP_HOST is not local)"
    if email.SMTP_HOST in ("localhost", "127.0.0.1", "::1"):
        if _port_free("127.0.0.1", email.SMTP_PORT):
            commands.append([python, "-m", "reference_app.modules.email.catcher",
                             "--host", "127.0.0.1", "--port", str(email.SMTP_PORT)])  # fmt: skip
            mail = f"smtp://127.0.0.1:{email.SMTP_PORT} (mail catcher), read at {{base}}/mail"
        else:
            mail = f"port {email.SMTP_PORT} is taken (Mailpit?): emails go there"

    guide = _build_guide(app.DOCS_SITE_DIR)

    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for command in commands:
            # A process group of its own: Ctrl-C reaches us only, and we stop each group whole.
            children.append(subprocess.Popen(command, start_new_session=True))
        base = f"http://{args.host}:{args.port}"
        if _wait_until_serving(args.host, args.port, children[0], time.monotonic() + 30):
            print(
                f"\n  API        {base}/\n  API docs   {base}/docs\n"
                f"  Guide      {base}/guide/{guide}\n"
                f"  Tasks      {base}/tasks\n"
                f"  Broker     {settings.broker_location()}\n"
                f"  Mail       {mail.format(base=base)}\n"
                "  Try        curl -X POST "
                f"{base}/reports -H 'content-type: application/json' "
                '-d \'{"title": "demo", "values": [1, 2, 3]}\'\n'
                "  Stop       Ctrl-C\n",
                flush=True,
            )
        while not stopping:
            dead = [c for c in children if c.poll() is not None]
            if dead:
                print(f"make run: {' '.join(dead[0].args[1:4])} exited; stopping.", file=sys.stderr)
                return 1
            time.sleep(0.2)
        print("\nmake run: stopping...", flush=True)
        return 0
    finally:
        _stop(children)


if __name__ == "__main__":
    raise SystemExit(main())
