"""Core: the app's database: engine, sessions, the models' ``Base``."""

from .base import Base
from .session import create_engine_from_settings, create_tables, get_request_session

__all__ = ["Base", "create_engine_from_settings", "create_tables", "get_request_session"]
