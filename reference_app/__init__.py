"""The reference app: FastAPI + SQLAlchemy (async) + Taskiq, runnable on three brokers."""
