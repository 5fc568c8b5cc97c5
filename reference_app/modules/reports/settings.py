"""The reports feature's settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


# --8<-- [start:settings]
class ReportsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # The most a request may ask a report to sleep (`delay_ms`, simulated slow work for demos
    # and fault tests). 0: the knob is off, so nobody can hold a worker slot for a minute.
    REPORTS_MAX_DELAY_MS: int = Field(0, ge=0, le=60_000)
    # --8<-- [end:settings]


@lru_cache
def get_reports_settings() -> ReportsSettings:
    """Read once per process from the environment (and ``.env``)."""
    return ReportsSettings()
