"""Database access in tasks: a session per task from `TaskiqDepends(get_db_session)`."""
