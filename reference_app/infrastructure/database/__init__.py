from reference_app.infrastructure.database.base import Base
from reference_app.infrastructure.database.session import (
    create_engine_from_settings,
    create_tables,
    get_session,
    probe_database,
)

__all__ = [
    "Base",
    "create_engine_from_settings",
    "create_tables",
    "get_session",
    "probe_database",
]
