"""Maintenance: scheduled clean-up of the app's old data (a task with a ``schedule`` label)."""
