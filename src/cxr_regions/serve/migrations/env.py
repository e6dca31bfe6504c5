"""Alembic environment: runs on the connection ``Store`` hands over (``config.attributes['connection']``)."""

from __future__ import annotations

from alembic import context

from cxr_regions.serve.schema import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the reading room's migrations run through cxr_regions.serve.store.Store, not the alembic CLI"
    )

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
