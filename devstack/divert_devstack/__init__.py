"""Local infrastructure for development and tests: real PostgreSQL and NATS from PyPI wheels."""
