"""pacs_fetched and pacs_sent

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

The PACS link's memory: the instances the poller has dealt with (so a restart neither misses nor
duplicates a film) and the result objects sent back (so each goes once).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OUTCOMES = "outcome IN ('stored', 'duplicate', 'refused', 'lateral')"
KINDS = "kind IN ('results', 'verdict')"


def upgrade() -> None:
    op.create_table(
        "pacs_fetched",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sop_instance_uid", sa.String(128), nullable=False),
        sa.Column("study_instance_uid", sa.String(128), nullable=False),
        sa.Column("series_instance_uid", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("film_id", sa.Integer(), sa.ForeignKey("films.id"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("sop_instance_uid"),
        sa.CheckConstraint(OUTCOMES, name="ck_pacs_fetched_outcome"),
    )
    op.create_index("ix_pacs_fetched_film_id", "pacs_fetched", ["film_id"])
    op.create_table(
        "pacs_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("film_id", sa.Integer(), sa.ForeignKey("films.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.String(256), nullable=False),
        sa.Column("sop_instance_uid", sa.String(128), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("film_id", "kind", "version", name="uq_pacs_sent_film_kind_version"),
        sa.CheckConstraint(KINDS, name="ck_pacs_sent_kind"),
    )
    op.create_index("ix_pacs_sent_film_id", "pacs_sent", ["film_id"])


def downgrade() -> None:
    op.drop_table("pacs_sent")
    op.drop_table("pacs_fetched")
