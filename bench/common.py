"""What the benchmark's measurements share: settings, a case's environment, its processes.

Imported by ``bench.run`` and the modules it runs (``bench.throughput``, ``bench.latency``,
``bench.request_path``), and by ``bench.layers`` and ``bench.soak``. It imports no other
module of ``bench``, so nothing here can import its way back into the harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REDIS_DB = 14
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
WORKERS = 2  # worker processes, every case
CONCURRENCY = 100  # async slots per taskiq worker process (ours and bare alike)
PY = sys.executable

# Our setup with its optional parts off: no stored result, no run recorder (bench.cases and
# bench.layers both use it).
LEAN = {"BENCH_NO_RESULTS": "1", "TASKIQ_RUNS_ENABLED": "false"}


@dataclass
class Case:
    name: str
    kind: str  # ours | taskiq | floor-redis[-async] | floor-amqp | celery | huey | inmemory
    broker: str  # sqlite | redis | rabbitmq | none
    about: str
    env: dict[str, str] = field(default_factory=dict)
    task: str = "bench.noop"
    needs: tuple[str, ...] = ()  # servers and packages
    receiver: str = ""  # kind taskiq: a --receiver of ours instead of taskiq's own


def available(need: str) -> bool:
    if need in ("redis", "rabbitmq"):
        port = 6379 if need == "redis" else 5672
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False
    return importlib.util.find_spec(need) is not None


# -- environments and processes -------------------------------------------------------------
def case_env(case: Case, queue: str, tmp: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TASKIQ_", "DATABASE_"))}
    probe_dir = tmp / "probe"
    probe_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **base,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
        "BENCH_PROBE_DIR": str(probe_dir),
        "BENCH_QUEUE": queue,
        "BENCH_REDIS_URL": REDIS_URL,
        "BENCH_AMQP_URL": AMQP_URL,
        "BENCH_HUEY_PATH": str(tmp / "huey.db"),
        "BENCH_CASE": "ours",
        # A benchmark on this machine: development mode (the app refuses its default
        # SECRET_KEY otherwise; nothing here signs a link anyone follows).
        "DEV_MODE": "true",
        # The reference app's settings, as a reader would set them for a busy worker:
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'app.db'}",
        "TASKIQ_BROKER_TYPE": case.broker if case.broker != "none" else "sqlite",
        "TASKIQ_QUEUE_NAME": queue,
        "TASKIQ_SQLITE_PATH": str(tmp / "broker.db"),
        "TASKIQ_REDIS_HOST": "127.0.0.1",
        "TASKIQ_REDIS_DB": str(REDIS_DB),
        "TASKIQ_RABBITMQ_HOST": "127.0.0.1",
        "TASKIQ_RABBITMQ_EXCHANGE": f"{queue}.exchange",
        "TASKIQ_WORKER_PROCESSES": str(WORKERS),
        "TASKIQ_WORKER_CONCURRENCY": str(CONCURRENCY),
        "TASKIQ_MAX_TASKS_PER_WORKER": "0",  # no recycling in the middle of a drain
    }
    env.update(case.env)
    return env


def worker_commands(case: Case, queue: str) -> list[list[str]]:
    if case.kind == "ours":
        return [[PY, "-m", "reference_app.infrastructure.taskiq.run_worker", "bench.apps",
                 "--log-level", "WARNING"]]  # fmt: skip
    if case.kind == "taskiq":
        receiver = ["--receiver", case.receiver] if case.receiver else []
        return [[PY, "-m", "taskiq", "worker", "bench.apps:broker", "--workers", str(WORKERS),
                 "--max-async-tasks", str(CONCURRENCY), "--max-prefetch", "0",
                 "--log-level", "WARNING", *receiver]]  # fmt: skip
    if case.kind == "floor-redis":
        return [[PY, "-m", "bench.floor", "redis-worker"]] * WORKERS
    if case.kind == "floor-redis-async":
        return [[PY, "-m", "bench.floor", "redis-async-worker"]] * WORKERS
    if case.kind == "floor-amqp":
        return [[PY, "-m", "bench.floor", "amqp-worker"]] * WORKERS
    if case.kind == "celery":
        return [[PY, "-m", "celery", "-A", "bench.celery_app", "worker", "-P", "prefork",
                 "-c", str(WORKERS), "-Q", queue, "--without-heartbeat", "--without-gossip",
                 "--without-mingle", "-l", "WARNING"]]  # fmt: skip
    if case.kind == "huey":
        consumer = str(Path(PY).parent / "huey_consumer")
        return [[PY, consumer, "bench.huey_app.huey", "-w", str(WORKERS), "-k", "process",
                 "-q"]]  # fmt: skip
    raise ValueError(case.kind)


class Workers:
    """Worker processes, each in its own process group."""

    def __init__(self, commands: list[list[str]], env: dict[str, str], log: Path) -> None:
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.procs = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log,
                             stderr=subprocess.STDOUT, start_new_session=True)
            for command in commands
        ]  # fmt: skip

    def alive(self) -> bool:
        return all(proc.poll() is None for proc in self.procs)

    def stop(self) -> None:
        # The measurement is over and the queue is deleted next: no graceful shutdown to
        # wait for (taskiq's waits for its running tasks), which keeps `make bench` within
        # its 10 minutes.
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait()
        self.log.close()


def wait_until_serving(base_url: str, processes: Workers, log: Path) -> None:
    """Until the app answers ``/health/ready`` (60 s at most; a process that died says why)."""
    import httpx

    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline or not processes.alive():
            raise RuntimeError(f"the app did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


def run_json(command: list[str], env: dict[str, str], timeout: float) -> dict:
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{out.stderr.decode()[-3000:]}")
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


async def _cleanup(queue: str, redis_url: str = REDIS_URL) -> None:
    with contextlib.suppress(Exception):
        from redis.asyncio import Redis

        async with Redis.from_url(redis_url) as redis:
            keys = [key async for key in redis.scan_iter(match=f"*{queue}*")]
            if keys:
                await redis.delete(*keys)
    with contextlib.suppress(Exception):
        import aio_pika

        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            for name in (queue, f"{queue}.dead_letter", f"{queue}.delay"):
                await channel.queue_delete(name)
            await channel.exchange_delete(f"{queue}.exchange")


def cleanup(case: Case, queue: str, redis_url: str = REDIS_URL) -> None:
    """Delete what the case created on Redis (keys naming its queue) or RabbitMQ."""
    if case.broker in ("redis", "rabbitmq"):
        asyncio.run(_cleanup(queue, redis_url))


def empty_redis_db() -> None:
    """Empty Redis DB ``REDIS_DB``, the benchmark's own: a run leaves nothing behind."""
    if available("redis"):
        with contextlib.suppress(Exception):
            from redis import Redis

            with Redis.from_url(REDIS_URL) as client:
                client.flushdb()


# -- versions, machine, results -------------------------------------------------------------
def versions() -> dict:
    found = {"python": platform.python_version()}
    for package in (
        "taskiq",
        "taskiq-redis",
        "taskiq-aio-pika",
        "redis",
        "aio-pika",
        "celery",
        "huey",
        "fastapi",
        "uvicorn",
        "sqlalchemy",
        "aiosqlite",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[package] = importlib.metadata.version(package)  # fmt: skip
    if available("redis"):
        with contextlib.suppress(Exception):
            from redis import Redis

            with Redis.from_url(REDIS_URL) as client:
                found["redis-server"] = client.info("server")["redis_version"]
    if available("rabbitmq"):

        async def rabbit() -> str:
            import aio_pika

            connection = await aio_pika.connect(AMQP_URL)
            async with connection:
                props = connection.transport.connection.server_properties
                return props["version"]

        with contextlib.suppress(Exception):
            found["rabbitmq-server"] = asyncio.run(rabbit())
    return found


def machine() -> dict:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu_model": model, "platform": platform.platform(),
            "load_average_at_start": list(os.getloadavg())}  # fmt: skip


def write_results(results: dict, out: Path | None, started: float) -> None:
    """Write the run's JSON to ``out``, or to ``bench/results/<UTC time>.json`` and
    ``bench/results/latest.json`` (what ``bench.plots`` reads)."""
    text = json.dumps(results, indent=2) + "\n"
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    else:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
        (RESULTS / f"{stamp}.json").write_text(text)
        (RESULTS / "latest.json").write_text(text)
