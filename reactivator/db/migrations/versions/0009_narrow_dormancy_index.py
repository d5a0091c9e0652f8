"""narrow the dormancy index: last purchase, yearly value and subscription only

The wide index held every column a pass read, so that a pass was one index
scan. Since the pass also reads `paused_until` and the trace the external id,
it visits the table anyway (in order, when many are dormant), and the width only
made every order import rewrite a long index entry per customer. The segment
report still finds everything it reads in the narrow index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 22:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

WIDE = (
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
)


def upgrade() -> None:
    op.drop_index("ix_customers_dormancy", table_name="customers")
    op.create_index(
        "ix_customers_dormancy", "customers", ["last_purchase_at", "annual_value_cents", "subscription"]
    )


def downgrade() -> None:
    op.drop_index("ix_customers_dormancy", table_name="customers")
    op.create_index("ix_customers_dormancy", "customers", list(WIDE))
