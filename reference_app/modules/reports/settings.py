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
    # Nothing the API accepted stays queued or processing forever: the sweep (every minute,
    # by the scheduler) enqueues again a report queued longer than REQUEUE_AFTER, or
    # processing longer than STUCK_AFTER, and after MAX_REQUEUES marks it failed with why.
    REPORTS_REQUEUE_AFTER_SECONDS: int = Field(300, ge=1)
    REPORTS_STUCK_AFTER_SECONDS: int = Field(900, ge=1)
    REPORTS_MAX_REQUEUES: int = Field(3, ge=0)
    # --8<-- [end:settings]


@lru_cache
def get_reports_settings() -> ReportsSettings:
    """Read once per process from the environment (and ``.env``)."""
    return ReportsSettings()
