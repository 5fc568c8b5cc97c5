"""The app's own settings, and every settings class of the app checked together at start-up.

Each part owns its settings: ``infrastructure/config`` the ``TASKIQ_*`` and database ones,
each feature its own (``modules/email/settings.py``, ``modules/users/settings.py``). Only the
app, which knows every part, can check them all before anything starts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from reference_app.infrastructure.config import (
    ConfigurationError,
    Settings,
    describe_validation_error,
    get_settings,
)
from reference_app.modules.email.settings import EmailSettings, get_email_settings
from reference_app.modules.maintenance.settings import (
    MaintenanceSettings,
    get_maintenance_settings,
)
from reference_app.modules.reports.settings import ReportsSettings, get_reports_settings
from reference_app.modules.schedules.settings import SchedulesSettings, get_schedules_settings
from reference_app.modules.users.settings import UsersSettings, get_users_settings


# --8<-- [start:app_settings]
class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # the docs site, built by `make run` and served by the app at /guide/
    DOCS_SITE_DIR: Path = Path("./site")
    # the largest request body the API reads (a report of 100,000 values fits); larger: 413
    MAX_REQUEST_BYTES: int = Field(4 * 1024 * 1024, ge=1024)
    # --8<-- [end:app_settings]


MIN_SECRET_LENGTH = 32
MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def check_secret_key(users: UsersSettings, settings: Settings) -> None:
    """Refuse the repository's default, an empty or a short SECRET_KEY outside DEV_MODE:
    anyone who read the repository could sign their own password-reset links."""
    secret = users.SECRET_KEY.get_secret_value()
    default = UsersSettings.model_fields["SECRET_KEY"].default.get_secret_value()
    if settings.DEV_MODE or (secret != default and len(secret) >= MIN_SECRET_LENGTH):
        return
    problem = "is the repository's default" if secret == default else "is empty or too short"
    raise ConfigurationError(
        f"SECRET_KEY {problem} (it signs the links in emails; at least {MIN_SECRET_LENGTH} "
        f"characters). Make one with: {MAKE_A_SECRET}; or set DEV_MODE=true on your own "
        "machine only"
    )


@lru_cache
def get_app_settings() -> AppSettings:
    return AppSettings()


# Every settings class of the app and the (cached) function that reads it; the
# configuration page documents each field of each class.
SETTINGS = {
    Settings: get_settings,
    EmailSettings: get_email_settings,
    UsersSettings: get_users_settings,
    ReportsSettings: get_reports_settings,
    MaintenanceSettings: get_maintenance_settings,
    SchedulesSettings: get_schedules_settings,
    AppSettings: get_app_settings,
}
SETTINGS_CLASSES = tuple(SETTINGS)


def check_settings() -> None:
    """Read every part's settings; a bad value is one ConfigurationError line naming it."""
    for read in SETTINGS.values():
        try:
            read()
        except ValidationError as exc:
            raise ConfigurationError(describe_validation_error(exc)) from None
    check_secret_key(get_users_settings(), get_settings())
