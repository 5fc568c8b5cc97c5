"""Serve any ASGI app (``module:attribute``) under uvicorn, for recipes that ship their own app."""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import UvicornServer


class AppServer(UvicornServer):
    def __init__(self, target: str, env: dict[str, str], log_path: Path) -> None:
        super().__init__(target, env, log_path)
