"""Servers a test owns: started on a free port in a temp dir, stopped after the test.

Used where a test must change a server (require a password, stop it mid-run), so the
machine's shared Redis is never touched.
"""

from __future__ import annotations

import shutil
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
