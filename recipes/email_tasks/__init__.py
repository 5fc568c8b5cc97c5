"""Calling the built-in email tasks: `.kiq()` from a route, 202 with a status URL, real SMTP."""
