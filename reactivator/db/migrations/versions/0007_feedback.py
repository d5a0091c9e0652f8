"""feedback: events from mailboxes and ESPs, replies, the complaint brake

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import reactivator.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feedback_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), server_default="", nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("letter_id", ID, nullable=True),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("step_key", sa.String(length=64), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("occurred_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("received_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_feedback_events_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_feedback_events_letter_id_letters"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_events")),
        sa.UniqueConstraint("key", name=op.f("uq_feedback_events_key")),
    )
    op.create_index("ix_feedback_events_step_key_kind", "feedback_events", ["step_key", "kind"])
    op.create_index("ix_feedback_events_customer_id_kind", "feedback_events", ["customer_id", "kind"])
    op.create_table(
        "replies",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("letter_id", ID, nullable=True),
        sa.Column("subject", sa.String(length=500), server_default="", nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_replies_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"], ["letters.id"], name=op.f("fk_replies_letter_id_letters"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
    )
    op.create_index("ix_replies_customer_id", "replies", ["customer_id"])
    op.create_index("ix_replies_received_at", "replies", ["received_at"])
    op.create_table(
        "step_brakes",
        sa.Column("step_key", sa.String(length=64), nullable=False),
        sa.Column("stopped_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("resumed_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("step_key", name=op.f("pk_step_brakes")),
    )


def downgrade() -> None:
    op.drop_table("step_brakes")
    op.drop_index("ix_replies_received_at", table_name="replies")
    op.drop_index("ix_replies_customer_id", table_name="replies")
    op.drop_table("replies")
    op.drop_index("ix_feedback_events_customer_id_kind", table_name="feedback_events")
    op.drop_index("ix_feedback_events_step_key_kind", table_name="feedback_events")
    op.drop_table("feedback_events")
