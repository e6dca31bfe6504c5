"""pacs_jobs, pacs_cursor, and where each PACS instance came from

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-10

The PACS link's work as one job per object (fetch an instance, look a film up in the PACS, send a film's
results, send a verdict), each with its own state, attempt count and next try; the poller's cursor; and,
on ``pacs_fetched``, how the instance reached us (poll, DICOM listener, lookup) and the revision the PACS
gave it then (so new content under the same UID is noticed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KINDS = "kind IN ('fetch', 'lookup', 'results', 'verdict')"
STATES = "state IN ('pending', 'running', 'done', 'failed', 'set_aside')"


def upgrade() -> None:
    op.create_table(
        "pacs_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sop_instance_uid", sa.String(128), nullable=False),
        sa.Column("version", sa.String(256), nullable=False),
        sa.Column("study_instance_uid", sa.String(128), nullable=True),
        sa.Column("series_instance_uid", sa.String(128), nullable=True),
        sa.Column("film_id", sa.Integer(), sa.ForeignKey("films.id"), nullable=True),
        sa.Column("revision", sa.String(128), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("kind", "sop_instance_uid", "version", name="uq_pacs_jobs_kind_sop_version"),
        sa.CheckConstraint(KINDS, name="ck_pacs_jobs_kind"),
        sa.CheckConstraint(STATES, name="ck_pacs_jobs_state"),
    )
    op.create_index("ix_pacs_jobs_state_next_try_at", "pacs_jobs", ["state", "next_try_at"])
    op.create_index("ix_pacs_jobs_film_id", "pacs_jobs", ["film_id"])
    op.create_table(
        "pacs_cursor",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("pacs_fetched") as batch:
        batch.add_column(sa.Column("via", sa.String(16), nullable=True))
        batch.add_column(sa.Column("revision", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pacs_fetched") as batch:
        batch.drop_column("revision")
        batch.drop_column("via")
    op.drop_table("pacs_cursor")
    op.drop_index("ix_pacs_jobs_film_id", "pacs_jobs")
    op.drop_index("ix_pacs_jobs_state_next_try_at", "pacs_jobs")
    op.drop_table("pacs_jobs")
