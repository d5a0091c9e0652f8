"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:29:11.141411
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import reactivator.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "customers",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("account_manager", sa.String(length=200), nullable=True),
        sa.Column("tags", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("subscription", sa.String(length=16), server_default="subscribed", nullable=False),
        sa.Column("unsubscribed_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("orders_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("annual_value_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("first_purchase_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_purchase_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("ladder_state", sa.String(length=16), nullable=True),
        sa.Column("ladder_enrolled_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_letter_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("returned_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("email_key", name=op.f("uq_customers_email_key")),
        sa.UniqueConstraint("external_id", name=op.f("uq_customers_external_id")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_annual_value_cents", ["annual_value_cents"], unique=False)
        batch_op.create_index(
            "ix_customers_dormancy",
            [
                "last_purchase_at",
                "annual_value_cents",
                "subscription",
                "ladder_state",
                "orders_count",
                "revenue_cents",
                "last_letter_at",
                "ladder_enrolled_at",
                "timezone",
                "tags",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_customers_returned_at",
            ["returned_at"],
            unique=False,
            sqlite_where=sa.text("returned_at IS NOT NULL"),
            postgresql_where=sa.text("returned_at IS NOT NULL"),
        )

    op.create_table(
        "suppressions",
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("email_hash", name=op.f("pk_suppressions")),
    )
    op.create_table(
        "enrollments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enrolled_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("dormant_since", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("entry_step", sa.Integer(), nullable=False),
        sa.Column("next_step", sa.Integer(), nullable=False),
        sa.Column("last_letter_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("ended_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.Column("return_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("return_amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("return_coupon", sa.String(length=64), nullable=True),
        sa.Column("return_step", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_enrollments_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index("ix_enrollments_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("ix_enrollments_enrolled_at", ["enrolled_at"], unique=False)
        batch_op.create_index("ix_enrollments_status", ["status"], unique=False)
        batch_op.create_index(
            "uq_enrollments_one_active",
            ["customer_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "letters",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("enrollment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("step_key", sa.String(length=64), nullable=False),
        sa.Column("discount_percent", sa.Integer(), nullable=False),
        sa.Column("coupon_code", sa.String(length=64), nullable=True),
        sa.Column("coupon_expires_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queued_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("send_after", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_until", reactivator.db.types.UTCDateTime(), nullable=True),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_letters_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_letters_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letters")),
        sa.UniqueConstraint("coupon_code", name=op.f("uq_letters_coupon_code")),
        sa.UniqueConstraint("enrollment_id", "step_index", name=op.f("uq_letters_enrollment_id_step_index")),
        sa.UniqueConstraint("message_id", name=op.f("uq_letters_message_id")),
    )
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.create_index("ix_letters_customer_id_queued_at", ["customer_id", "queued_at"], unique=False)
        batch_op.create_index("ix_letters_due", ["status", "send_after"], unique=False)
        batch_op.create_index("ix_letters_queued_at", ["queued_at"], unique=False)

    op.create_table(
        "orders",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("placed_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("coupon_code", sa.String(length=64), nullable=True),
        sa.Column("letter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", reactivator.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_orders_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"], ["letters.id"], name=op.f("fk_orders_letter_id_letters"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("external_id", name=op.f("uq_orders_external_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_customer_id_placed_at", ["customer_id", "placed_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_customer_id_placed_at")

    op.drop_table("orders")
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.drop_index("ix_letters_queued_at")
        batch_op.drop_index("ix_letters_due")
        batch_op.drop_index("ix_letters_customer_id_queued_at")

    op.drop_table("letters")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_enrollments_one_active",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_enrollments_status")
        batch_op.drop_index("ix_enrollments_enrolled_at")
        batch_op.drop_index("ix_enrollments_customer_id")

    op.drop_table("enrollments")
    op.drop_table("suppressions")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_customers_returned_at",
            sqlite_where=sa.text("returned_at IS NOT NULL"),
            postgresql_where=sa.text("returned_at IS NOT NULL"),
        )
        batch_op.drop_index("ix_customers_dormancy")
        batch_op.drop_index("ix_customers_annual_value_cents")

    op.drop_table("customers")
