"""Progress from a running task: `ProgressTracker` in the task, `get_progress` from anywhere."""
