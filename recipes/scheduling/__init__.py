"""Scheduling: tasks sent by a scheduler process, from a label or added at run time."""
