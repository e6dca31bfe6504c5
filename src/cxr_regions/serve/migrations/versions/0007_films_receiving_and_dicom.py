"""films: status 'receiving', source 'dicom'

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

A film being filed has a row with status ``receiving`` before its file is in place (serve/filing.py: the
crash-safe order), and films may come in by DICOM C-STORE (source ``dicom``). SQLite cannot change a CHECK
constraint in place, so the table is copied (Alembic's batch mode); the rows, ids and indexes are kept.
Foreign keys are off while the table is copied and checked before the commit (``database.upgrade``).
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"  # after the viewer's columns, which reached main first
branch_labels = None
depends_on = None

STATUSES_AT_0002 = "status IN ('queued', 'processing', 'ready', 'failed')"
SOURCES_AT_0002 = "source IN ('upload', 'watch', 'demo', 'pacs')"
STATUSES = "status IN ('receiving', 'queued', 'processing', 'ready', 'failed')"
SOURCES = "source IN ('upload', 'watch', 'demo', 'pacs', 'dicom')"


def _checks(statuses: str, sources: str) -> None:
    with op.batch_alter_table("films", recreate="always") as batch:
        batch.drop_constraint("ck_films_status", type_="check")
        batch.drop_constraint("ck_films_source", type_="check")
        batch.create_check_constraint("ck_films_status", statuses)
        batch.create_check_constraint("ck_films_source", sources)


def upgrade() -> None:
    _checks(STATUSES, SOURCES)


def downgrade() -> None:
    op.execute("DELETE FROM films WHERE status = 'receiving'")
    op.execute("UPDATE films SET source = 'upload' WHERE source = 'dicom'")
    _checks(STATUSES_AT_0002, SOURCES_AT_0002)
