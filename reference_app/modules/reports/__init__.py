"""Reports: the seed's ``process_report`` example as a real feature."""
