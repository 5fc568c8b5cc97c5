"""The schedules feature's settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


# --8<-- [start:settings]
class SchedulesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # the only tasks POST /schedules may schedule (a JSON list in the environment)
    SCHEDULES_ALLOWED_TASKS: list[str] = ["send_notification_email", "purge_old_reports"]
    # --8<-- [end:settings]


@lru_cache
def get_schedules_settings() -> SchedulesSettings:
    """Read once per process from the environment (and ``.env``)."""
    return SchedulesSettings()
