"""Retries with backoff, timeouts, idempotent tasks, and tasks that keep failing."""
