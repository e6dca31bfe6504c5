"""Alembic revision files; each one a frozen step of the schema (never edited after release)."""
