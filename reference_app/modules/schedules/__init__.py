"""Schedules: tasks sent at a time, every interval or on a cron line, added at run time."""
