"""The task registry: record every task by name, list them per broker, refuse clashes."""
