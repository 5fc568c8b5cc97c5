from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.smtp import SmtpServer, smtp_server

SECRET_KEY = "test-secret-key"
ADMIN_TOKEN = "test-admin-token"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server in the test process, on a free port."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def mail_settings(smtp: SmtpServer) -> dict[str, object]:
    """Settings for the API and the workers: our SMTP server, fast retries, known secrets."""
    return {
        **smtp.settings(),
        "SECRET_KEY": SECRET_KEY,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "SMTP_RETRY_BACKOFF": 0.1,
        "SMTP_TIMEOUT": 5,
    }
