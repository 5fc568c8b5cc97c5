"""Defining tasks: names, JSON-only parameters, labels, and the registry."""
