"""The maintenance feature's settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reference_app.modules.schedules.cron import check_cron, check_timezone


# --8<-- [start:settings]
class MaintenanceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # finished reports (complete or failed) older than this are deleted by the nightly task
    MAINTENANCE_KEEP_REPORTS_DAYS: int = Field(30, ge=1)
    # when it runs: a cron line (minute hour day month weekday) in MAINTENANCE_TIMEZONE
    MAINTENANCE_CLEANUP_CRON: str = "30 3 * * *"
    MAINTENANCE_TIMEZONE: str = "UTC"
    # --8<-- [end:settings]

    # A bad line is refused at start, not logged by the scheduler every second, never run.
    @field_validator("MAINTENANCE_CLEANUP_CRON")
    @classmethod
    def _cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("MAINTENANCE_TIMEZONE")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)


@lru_cache
def get_maintenance_settings() -> MaintenanceSettings:
    """Read once per process from the environment (and ``.env``)."""
    return MaintenanceSettings()
