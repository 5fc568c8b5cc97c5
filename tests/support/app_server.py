"""Serve any ASGI app (``module:attribute``) under uvicorn, for recipes that ship their own app."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from tests.support.processes import ManagedProcess, free_port
from tests.support.waiting import wait_for


class AppServer(ManagedProcess):
    def __init__(self, target: str, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "uvicorn", target,
                   "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        super().__init__(command, env, log_path)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start_and_wait(self, timeout: float = 30.0) -> AppServer:
        self.start()

        def up() -> bool:
            if not self.alive():
                return True
            try:
                return httpx.get(f"{self.base_url}/openapi.json", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=timeout, what=f"{self.command[3]} to answer")
        assert self.alive(), f"app exited early:\n{self.log()[-3000:]}"
        return self

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10)
