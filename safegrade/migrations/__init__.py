"""Alembic migrations for safegrade's schema (`safegrade init` runs them)."""
