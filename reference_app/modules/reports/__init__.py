"""Reports: FastroAI's ``process_report`` example, as a real feature."""
