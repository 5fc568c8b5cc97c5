"""Monitoring: the task registry, task runs and their statistics, as JSON and as a page."""
