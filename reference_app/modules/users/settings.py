"""The users feature's settings: the key that signs the links in emails, their lifetimes, and
the login limits."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


# --8<-- [start:settings]
class UsersSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    SECRET_KEY: SecretStr = SecretStr("dev-only-change-me")  # set your own in production
    PUBLIC_BASE_URL: str = "http://127.0.0.1:8000"  # where links in emails point
    VERIFY_TOKEN_MAX_AGE: int = Field(2 * 24 * 3600, ge=1)  # s a verification link works
    RESET_TOKEN_MAX_AGE: int = Field(3600, ge=1)  # s a password reset link works
    # login: failed attempts per account, and all attempts per client, per window; then 429
    LOGIN_RATE_LIMIT_PER_ACCOUNT: int = Field(10, ge=1)
    LOGIN_RATE_LIMIT_PER_CLIENT: int = Field(50, ge=1)
    LOGIN_RATE_LIMIT_WINDOW_SECONDS: float = Field(600, gt=0)
    # --8<-- [end:settings]


@lru_cache
def get_users_settings() -> UsersSettings:
    """Read once per process from the environment (and ``.env``)."""
    return UsersSettings()
