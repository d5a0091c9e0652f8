"""the holdout: each enrollment's arm and value class, and the salt that decides arms

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import reactivator.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrollments") as batch:
        batch.add_column(sa.Column("arm", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("value_class", sa.String(length=1), nullable=True))
    table = op.create_table(
        "holdout_salts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("created_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holdout_salts")),
    )
    # Made here, so that a dry run reads the same arms a pass writes without writing itself.
    op.bulk_insert(table, [{"salt": secrets.token_hex(16), "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("holdout_salts")
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_column("value_class")
        batch.drop_column("arm")
