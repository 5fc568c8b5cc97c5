"""Shared by the security tests: the app in this process, with the settings a test gives."""

from __future__ import annotations

import httpx
import pytest

from reference_app.settings import SETTINGS

STRONG = "s" * 40
TOKEN = "a-test-admin-token"
LOCAL, REMOTE = ("127.0.0.1", 50000), ("203.0.113.5", 50000)


def clear_settings() -> None:
    for read in SETTINGS.values():
        read.cache_clear()


@pytest.fixture
def app_with(monkeypatch, tmp_path):
    """``app_with(**settings)``: a new app reading these settings (production by default)."""

    def make(**settings: object):
        base = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
                "MAIL_CATCHER_PATH": tmp_path / "mail.db", "TASKIQ_ENABLED": "false",
                "DEV_MODE": "false", "SECRET_KEY": STRONG}  # fmt: skip
        for name, value in {**base, **settings}.items():
            monkeypatch.setenv(name, str(value))
        if "ADMIN_TOKEN" not in settings:
            monkeypatch.delenv("ADMIN_TOKEN", raising=False)
        clear_settings()
        from reference_app.main import create_app

        return create_app()

    yield make
    clear_settings()


def client(app, peer=LOCAL) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=peer),
                             base_url="http://127.0.0.1:8000")  # fmt: skip
