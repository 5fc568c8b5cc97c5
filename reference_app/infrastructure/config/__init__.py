"""Core: settings and the clear errors a bad one gives."""

from .errors import ConfigurationError, describe_validation_error, quiet_logs
from .settings import BrokerType, Settings, get_settings

__all__ = ["BrokerType", "ConfigurationError", "Settings", "describe_validation_error",
           "get_settings", "quiet_logs"]  # fmt: skip
