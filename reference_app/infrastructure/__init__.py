"""Shared plumbing: settings, database, task broker. Imports no feature module by name."""
