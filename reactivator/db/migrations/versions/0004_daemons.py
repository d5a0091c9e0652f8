"""daemons, fleet-wide domain pauses, letters.last_attempt_at

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import reactivator.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daemons",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("next_pass_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_pass_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_pass", sa.Text(), nullable=True),
        sa.Column("last_segments_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("alerts", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_daemons")),
    )
    op.create_table(
        "domain_pauses",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("paused_until", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_domain_pauses")),
    )
    with op.batch_alter_table("letters") as batch:
        batch.add_column(sa.Column("last_attempt_at", reactivator.db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("letters") as batch:
        batch.drop_column("last_attempt_at")
    op.drop_table("domain_pauses")
    op.drop_table("daemons")
