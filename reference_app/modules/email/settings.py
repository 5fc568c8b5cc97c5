"""The email feature's settings: SMTP, bulk sending, the mail catcher, the request limits."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


# --8<-- [start:settings]
class EmailSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # SMTP. The defaults reach the mail catcher that `make run` starts.
    SMTP_HOST: str = "localhost"
    SMTP_PORT: int = Field(1025, ge=1, le=65535)
    SMTP_USER: str | None = None  # unset: no login
    SMTP_PASSWORD: SecretStr | None = None
    SMTP_FROM: str = "Taskiq Cookbook <noreply@example.com>"
    SMTP_TLS: Literal["none", "starttls", "tls"] = "none"  # tls: implicit TLS (port 465)
    SMTP_CA_FILE: Path | None = None  # CA bundle to trust for SMTP TLS; unset: the system's
    SMTP_TIMEOUT: float = Field(10.0, gt=0)  # s per SMTP command
    SMTP_MAX_ATTEMPTS: int = Field(4, ge=1)  # tries per email before it is recorded failed
    SMTP_RETRY_BACKOFF: float = Field(1.0, ge=0)  # s before the 2nd try; doubles each time
    EMAIL_BATCH_SIZE: int = Field(100, ge=1)  # bulk: recipients read and sent per batch
    EMAIL_CONCURRENCY: int = Field(4, ge=1)  # bulk: batches (SMTP connections) at once
    MAIL_CATCHER_PATH: Path = Path("./var/mail-catcher.db")  # what /mail shows

    # routes that send email: at most this many per address, and per client, per window
    EMAIL_RATE_LIMIT_PER_ADDRESS: int = Field(5, ge=1)
    EMAIL_RATE_LIMIT_PER_CLIENT: int = Field(30, ge=1)
    EMAIL_RATE_LIMIT_WINDOW_SECONDS: float = Field(600, gt=0)
    # --8<-- [end:settings]


@lru_cache
def get_email_settings() -> EmailSettings:
    """Read once per process from the environment (and ``.env``)."""
    return EmailSettings()
