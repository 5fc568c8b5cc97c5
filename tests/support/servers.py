"""Servers a test owns: started on a free port in a temp dir, stopped after the test.

Used where a test must change a server (require a password, stop it mid-run), so the
machine's shared Redis is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import free_port
from tests.support.waiting import wait_for


class PrivateRedis:
    """A redis-server of our own. ``persistent``: an fsync'ed append-only file, so that a
    stop and a start on the same port and directory keep every acknowledged write."""

    def __init__(self, tmp_path: Path, *, password: str | None = None, persistent=False):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("needs the redis-server program to start a private Redis")
        self.binary, self.dir, self.password = binary, tmp_path, password
        self.persistent = persistent
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--dir", str(self.dir)]  # fmt: skip
        command += (["--appendonly", "yes", "--appendfsync", "always"] if self.persistent
                    else ["--appendonly", "no"])  # fmt: skip
        if self.password:
            command += ["--requirepass", self.password]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self.answers, timeout=10, what="the private redis-server")
        return self

    def answers(self) -> bool:
        cli = ["redis-cli", "-p", str(self.port)]
        if self.password:
            cli += ["-a", self.password, "--no-auth-warning"]
        done = subprocess.run([*cli, "ping"], capture_output=True, text=True)
        return done.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@contextmanager
def private_redis(tmp_path: Path, *, password: str | None = None) -> Iterator[int]:
    """A redis-server of our own for the block; yields its port."""
    server = PrivateRedis(tmp_path, password=password).start()
    try:
        yield server.port
    finally:
        server.stop()


class PrivateRabbitMQ:
    """A RabbitMQ node of our own (its own name, ports and data directory), for tests that
    stop and start the server; the machine's shared node is never touched. Starting one
    takes about 4 s; its data (durable queues, persisted messages) survives a restart."""

    def __init__(self, tmp_path: Path) -> None:
        binary = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
        if not binary.exists():
            pytest.skip("needs Debian's rabbitmq-server to start a private RabbitMQ node")
        self.binary, self.dir = binary, tmp_path
        self.port, self.dist_port = free_port(), free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        tmp_path.mkdir(parents=True, exist_ok=True)
        (tmp_path / "enabled_plugins").write_text("[].\n")

    def env(self) -> dict[str, str]:
        return {"PATH": "/usr/sbin:/usr/bin:/bin", "HOME": str(self.dir),
                "RABBITMQ_NODENAME": f"cookbook-test-{self.port}@localhost",
                "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.dir / "log"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
                "RABBITMQ_CONFIG_FILE": str(self.dir / "none"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "none.config")}  # fmt: skip

    def start(self) -> PrivateRabbitMQ:
        log = open(self.dir / "server.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen([str(self.binary)], cwd=self.dir, env=self.env(),
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        wait_for(self.answers, timeout=60, what="the private RabbitMQ node")
        return self

    def answers(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        wait_for(lambda: not self.answers(), timeout=10, what="the node to stop")
