"""Enqueueing tasks: `.kiq()` from a route and a service, task ids, labels, waiting with care."""
