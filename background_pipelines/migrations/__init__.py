"""Alembic migrations of the store (one schema for SQLite and PostgreSQL)."""
