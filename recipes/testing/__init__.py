"""Testing tasks: as plain functions, in memory with overrides, and against a real worker."""
