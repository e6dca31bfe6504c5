"""sessions and audit_events

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-07

Server-side login sessions (so logout, a password change and a removed user take effect at once) and
the audit trail (logins, films opened, verdicts saved with old and new values, exports, users changed).
The audit trail is append-only: triggers refuse any UPDATE or DELETE of its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = ("UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_sessions_user", "sessions", ["user"])
    op.create_index("ix_sessions_last_seen", "sessions", ["last_seen"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("film_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(128), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    for column in ("at", "actor", "action", "film_id"):
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])
    for statement in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER audit_events_no_{statement.lower()} BEFORE {statement} ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
        )


def downgrade() -> None:
    for statement in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{statement.lower()}")
    op.drop_table("audit_events")
    op.drop_table("sessions")
