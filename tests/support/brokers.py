"""Which brokers the tests run on, and the isolated settings each test gets.

Each test gets its own queue (and exchange) name, its own SQLite files in a temp dir and the
Redis DB number below, so tests never see each other's messages; what a test created on
Redis or RabbitMQ is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BROKER_TYPES = ("sqlite", "redis", "rabbitmq")
TEST_REDIS_DB = 13
SERVERS = {"redis": ("127.0.0.1", 6379), "rabbitmq": ("127.0.0.1", 5672)}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def server_reachable(broker_type: str) -> bool:
    if broker_type not in SERVERS:
        return True
    try:
        with socket.create_connection(SERVERS[broker_type], timeout=1):
            return True
    except OSError:
        return False


# --8<-- [start:require_server]
def require_server(broker_type: str) -> None:
    """Skip (on a reader's machine) or fail (with CI=true) when the broker's server is down."""
    if server_reachable(broker_type):
        return
    host, port = SERVERS[broker_type]
    message = f"needs a {broker_type} server on {host}:{port}, which is not reachable"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: broker tests must run, not skip)", pytrace=False)
    pytest.skip(message)


# --8<-- [end:require_server]


@dataclass
class BrokerEnv:
    """Settings (as environment variables) for one broker, isolated to one test."""

    broker_type: str
    tmp_path: Path
    queue: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    overrides: dict[str, str] = field(default_factory=dict)

    @property
    def database_path(self) -> Path:
        return self.tmp_path / "app.db"

    def settings_env(self, **overrides: object) -> dict[str, str]:
        env = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.database_path}",
            "TASKIQ_ENABLED": "true",
            "TASKIQ_BROKER_TYPE": self.broker_type,
            "TASKIQ_QUEUE_NAME": self.queue,
            "TASKIQ_SQLITE_PATH": str(self.tmp_path / "broker.db"),
            "TASKIQ_REDIS_HOST": "127.0.0.1",
            "TASKIQ_REDIS_DB": str(TEST_REDIS_DB),
            "TASKIQ_RABBITMQ_HOST": "127.0.0.1",
            "TASKIQ_RABBITMQ_EXCHANGE": f"{self.queue}.exchange",
            "TASKIQ_LEASE_SECONDS": "3",
            "TASKIQ_SCHEDULE_REFRESH_SECONDS": "1",  # runtime schedules seen within 1 s
            "TASKIQ_POLL_INTERVAL": "0.01",
            "TASKIQ_WORKER_PROCESSES": "1",
            "TASKIQ_CONNECT_TIMEOUT": "3",
            "DEV_MODE": "true",  # the default SECRET_KEY, /mail; security tests turn it off
            "REPORTS_MAX_DELAY_MS": "60000",  # slow reports for the fault tests
        }
        env.update(self.overrides)
        env.update({key: str(value) for key, value in overrides.items()})
        return env

    def process_env(self, **overrides: object) -> dict[str, str]:
        """The environment for a child process: ours, minus any stray app settings."""
        base = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TASKIQ_", "DATABASE_", "SMTP_"))
            # `make test` runs us: a `make` a test runs must not think it is nested in it
            # (it would print "Entering directory" lines a reader never sees)
            and key not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")
        }
        base["PYTHONUNBUFFERED"] = "1"
        return {**base, **self.settings_env(**overrides)}

    def settings(self, **overrides: object):
        from reference_app.infrastructure.config import Settings

        return Settings(_env_file=None, **self.settings_env(**overrides))

    async def cleanup(self) -> None:
        if self.broker_type == "redis" and server_reachable("redis"):
            from redis.asyncio import Redis

            async with Redis(host="127.0.0.1", port=6379, db=TEST_REDIS_DB) as redis:
                keys = [key async for key in redis.scan_iter(match=f"{self.queue}*")]
                if keys:
                    await redis.delete(*keys)
        elif self.broker_type == "rabbitmq" and server_reachable("rabbitmq"):
            import aio_pika

            connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
            async with connection:
                channel = await connection.channel()
                for base in (self.queue, f"{self.queue}.slow"):  # the second queue too
                    for queue in (base, f"{base}.dead_letter", f"{base}.delay"):
                        await channel.queue_delete(queue)
                await channel.exchange_delete(f"{self.queue}.exchange")


def make_broker_env(broker_type: str, tmp_path: Path) -> BrokerEnv:
    require_server(broker_type)
    return BrokerEnv(broker_type, tmp_path)


def cleanup(env: BrokerEnv) -> None:
    asyncio.run(env.cleanup())
