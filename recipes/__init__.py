"""Runnable recipes, one folder per concept: ``python -m recipes.<slug>``.

Each recipe imports only the standard library, taskiq and its plugins, FastAPI/SQLAlchemy and
the reference app's task infrastructure (``email_broker``, ``register_task``,
``get_db_session``, the worker launcher), never another recipe.
"""
