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


@contextmanager
def private_redis(tmp_path: Path, *, password: str | None = None) -> Iterator[int]:
    """A redis-server of our own; yields its port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs the redis-server program to start a private Redis")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip
    if password:
        command += ["--requirepass", password]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        cli = ["redis-cli", "-p", str(port)] + (
            ["-a", password, "--no-auth-warning"] if password else []
        )

        def answers() -> bool:
            done = subprocess.run([*cli, "ping"], capture_output=True, text=True)
            return done.stdout.strip() == "PONG"

        wait_for(answers, timeout=10, what="the private redis-server")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
