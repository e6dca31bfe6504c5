"""the viewer's films: full depth, priors, urgent, raw scores; the cardiothoracic ratio of a verdict

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Films gain the film at its own bit depth (``full_depth_path``, its header in ``depth``: windows, VOI
LUTs, presets, spacing), the de-identified patient key and the study date as a per-patient shifted day
number (``study_day``: days between a patient's films are kept, the date itself is not) for priors,
``urgent``, and the model's uncalibrated probabilities (triage ties). Verdicts gain the cardiothoracic
ratio and the two widths it was measured from. Additive only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FILM_COLUMNS = (
    ("full_depth_path", sa.String(512)),
    ("depth", sa.JSON()),
    ("patient_key", sa.String(64)),
    ("study_day", sa.Integer()),
    ("raw_probabilities", sa.JSON()),
    ("raw_max_probability", sa.Float()),
)


def upgrade() -> None:
    for name, kind in FILM_COLUMNS:
        op.add_column("films", sa.Column(name, kind, nullable=True))
    op.add_column("films", sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_films_patient_key", "films", ["patient_key"])
    op.create_index("ix_films_urgent", "films", ["urgent"])
    op.add_column("verdicts", sa.Column("cardiothoracic_ratio", sa.Float(), nullable=True))
    op.add_column("verdicts", sa.Column("measurements", sa.JSON(), nullable=True))


def downgrade() -> None:
    # plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy would drop ``films``, which the
    # verdicts' foreign key forbids
    op.drop_column("verdicts", "measurements")
    op.drop_column("verdicts", "cardiothoracic_ratio")
    op.drop_index("ix_films_urgent", "films")
    op.drop_index("ix_films_patient_key", "films")
    op.drop_column("films", "urgent")
    for name, _ in reversed(FILM_COLUMNS):
        op.drop_column("films", name)
