"""The app's own settings, and every settings class of the app checked together at start-up.

Each part owns its settings: ``infrastructure/config`` the ``TASKIQ_*`` and database ones,
each feature its own (``modules/email/settings.py``, ``modules/users/settings.py``). Only the
app, which knows every part, can check them all before anything starts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from reference_app.infrastructure.config import (
    ConfigurationError,
    Settings,
    describe_validation_error,
    get_settings,
)
from reference_app.modules.email.settings import EmailSettings, get_email_settings
from reference_app.modules.users.settings import UsersSettings, get_users_settings


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # the docs site, built by `make run` and served by the app at /guide/
    DOCS_SITE_DIR: Path = Path("./site")


@lru_cache
def get_app_settings() -> AppSettings:
    return AppSettings()


# Every settings class of the app: the configuration page documents each field of each.
SETTINGS_CLASSES = (Settings, EmailSettings, UsersSettings, AppSettings)


def check_settings() -> None:
    """Read every part's settings; a bad value is one ConfigurationError line naming it."""
    for read in (get_settings, get_email_settings, get_users_settings, get_app_settings):
        try:
            read()
        except ValidationError as exc:
            raise ConfigurationError(describe_validation_error(exc)) from None
