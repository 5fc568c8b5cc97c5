"""Bulk email through a local SMTP server: emails per second and the worker's peak memory.

    python -m bench.email_bulk [--recipients 10000 100000] [--concurrency 4] [--batch 100]

For each recipient count: a fresh SQLite app database with that many active users, a local
SMTP server (aiosmtpd, counting messages only, in this process), one worker process on the
embedded SQLite broker, and one system-wide notification task. Emails per second run from
the first message the server receives to the last; peak memory is the worker process's
VmHWM (peak resident set) read from /proc. Writes bench/results/email_bulk.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "email_bulk.json"


class CountingHandler:
    def __init__(self) -> None:
        self.count = 0
        self.first = self.last = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            now = time.perf_counter()
            self.first = self.first or now
            self.last = now
            self.count += len(envelope.rcpt_tos)
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_kib(pid: int) -> int:
    """The largest VmHWM among the process and its children (the taskiq worker processes)."""
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return 0
    peak = 0
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except FileNotFoundError:
            continue
    return peak


def make_database(path: Path, env: dict[str, str], recipients: int) -> None:
    """Create the app's tables (as its lifespan would) and add the users."""
    code = (
        "import asyncio, reference_app.main\n"
        "from reference_app.infrastructure.config import get_settings\n"
        "from reference_app.infrastructure.database import create_engine_from_settings, "
        "create_tables\n"
        "async def go():\n"
        "    engine = create_engine_from_settings(get_settings().DATABASE_URL)\n"
        "    await create_tables(engine)\n"
        "    await engine.dispose()\n"
        "asyncio.run(go())\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True)
    now = datetime.now(UTC).isoformat()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO users (email, name, is_active, is_verified, created_at) "
            "VALUES (?, ?, 1, 1, ?)",
            ((f"user{n:07d}@example.com", f"User {n}", now) for n in range(recipients)),
        )


async def enqueue(env: dict[str, str]) -> None:
    os.environ.update(env)
    from taskiq.kicker import AsyncKicker

    from reference_app.infrastructure.config import Settings
    from reference_app.infrastructure.taskiq.brokers import build_broker

    settings = Settings(_env_file=None)
    broker = build_broker(settings)
    await broker.startup()
    await AsyncKicker("send_system_wide_notification_emails", broker, {}).kiq(
        subject="Benchmark", message="Hello from the benchmark."
    )
    await broker.shutdown()


def run_one(recipients: int, concurrency: int, batch: int) -> dict:
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ours = ("TASKIQ_", "DATABASE_", "SMTP_", "EMAIL_")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(ours)},
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
            "TASKIQ_SQLITE_PATH": str(tmp_path / "broker.db"),
            "TASKIQ_WORKER_PROCESSES": "1",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "EMAIL_CONCURRENCY": str(concurrency),
            "EMAIL_BATCH_SIZE": str(batch),
            "TASKIQ_RUNS_ENABLED": "true",
            "DEV_MODE": "true",  # a benchmark on this machine: the default SECRET_KEY is fine
        }  # fmt: skip
        make_database(tmp_path / "app.db", env, recipients)
        worker = subprocess.Popen(
            [sys.executable, "-m", "reference_app.infrastructure.taskiq.run_worker",
             "--log-level", "WARNING"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            asyncio.run(enqueue(env))
            deadline = time.monotonic() + max(120, recipients / 100)
            peak = 0
            last_report = time.monotonic()
            while handler.count < recipients and time.monotonic() < deadline:
                peak = max(peak, peak_rss_kib(worker.pid))
                if time.monotonic() - last_report > 5:
                    print(f"  {recipients}: {handler.count} received", flush=True)
                    last_report = time.monotonic()
                time.sleep(0.2)
            peak = max(peak, peak_rss_kib(worker.pid))
        finally:
            os.killpg(worker.pid, 15)
            worker.wait(timeout=60)
            controller.stop()
    elapsed = handler.last - handler.first
    return {
        "recipients": recipients,
        "received": handler.count,
        "seconds": round(elapsed, 2),
        "emails_per_second": round(handler.count / elapsed, 1) if elapsed else None,
        "worker_peak_rss_mib": round(peak / 1024, 1),
        "email_concurrency": concurrency,
        "email_batch_size": batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    runs = []
    for count in args.recipients:
        print(f"bulk email to {count} recipients...", flush=True)
        runs.append(run_one(count, args.concurrency, args.batch))
        print(json.dumps(runs[-1]), flush=True)
    result = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "runs": runs,
    }
    if len(runs) >= 2 and runs[0]["worker_peak_rss_mib"]:
        result["rss_ratio_largest_to_smallest"] = round(
            runs[-1]["worker_peak_rss_mib"] / runs[0]["worker_peak_rss_mib"], 3
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
