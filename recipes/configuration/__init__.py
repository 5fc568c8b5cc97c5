"""Configuration: one settings class, three brokers, switched by environment variables."""
