"""Alembic migrations of the reading room's database, run by ``Store`` on open (upgrade to head)."""
