"""films and verdicts

Revision ID: 0001
Revises:
Create Date: 2026-12-06

The schema is frozen here as it was at this revision: the region columns are spelled out (a change of
``cxr_regions.regions`` needs a new migration; a test checks the ORM tables still match the migrations).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

REGIONS_AT_0001 = ("thorax", "lungs", "aorta", "heart", "diaphragm")
STATUSES = "status IN ('queued', 'processing', 'ready', 'failed')"
SOURCES = "source IN ('upload', 'watch', 'demo', 'pacs')"


def upgrade() -> None:
    op.create_table(
        "films",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("image_id", sa.String(128), nullable=False),
        sa.Column("sop_instance_uid", sa.String(128), nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=True),
        sa.Column("study_instance_uid", sa.String(128), nullable=True),
        sa.Column("accession", sa.String(64), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("png_path", sa.String(512), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report_text", sa.Text(), nullable=True),
        sa.Column("report_labels", sa.JSON(), nullable=True),
        sa.Column("report_evidence", sa.Text(), nullable=True),
        sa.Column("probabilities", sa.JSON(), nullable=True),
        sa.Column("max_probability", sa.Float(), nullable=True),
        sa.Column("flags", sa.String(16), nullable=True),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("image_id"),
        sa.UniqueConstraint("sop_instance_uid"),
        sa.UniqueConstraint("content_sha256"),
        sa.CheckConstraint(STATUSES, name="ck_films_status"),
        sa.CheckConstraint(SOURCES, name="ck_films_source"),
    )
    for column in ("accession", "received_at", "status", "read", "max_probability"):
        op.create_index(f"ix_films_{column}", "films", [column])
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("film_id", sa.Integer(), sa.ForeignKey("films.id"), nullable=False),
        sa.Column("reader", sa.String(128), nullable=False),
        *(sa.Column(key, sa.String(1), nullable=False) for key in REGIONS_AT_0001),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("film_id", "reader", name="uq_verdicts_film_reader"),
        *(
            sa.CheckConstraint(f"{key} IN ('1', 'u', '0')", name=f"ck_verdicts_{key}")
            for key in REGIONS_AT_0001
        ),
    )
    op.create_index("ix_verdicts_film_id", "verdicts", ["film_id"])


def downgrade() -> None:
    op.drop_table("verdicts")
    op.drop_table("films")
