"""signing keys for links and unsubscribe tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import reactivator.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "signing_keys",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
    )
    # The first key is made here, so that signing a link never has to write.
    op.bulk_insert(table, [{"secret": secrets.token_urlsafe(48), "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("signing_keys")
