from reference_app.infrastructure.config.errors import (
    ConfigurationError,
    describe_validation_error,
    quiet_logs,
)
from reference_app.infrastructure.config.settings import BrokerType, Settings, get_settings

__all__ = [
    "BrokerType",
    "ConfigurationError",
    "Settings",
    "describe_validation_error",
    "get_settings",
    "quiet_logs",
]
