"""The A/B/C value classes of a pass, read off the index of customers' yearly value."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from reactivator.core.value import ClassCutoffs, rank_positions
from reactivator.db.tables import customers


def class_cutoffs(conn: Connection, a_share: float, b_share: float) -> ClassCutoffs:
    """A/B cutoffs from the spread of values among buyers, read straight off an index."""
    buyers = conn.execute(
        select(func.count()).select_from(customers).where(customers.c.annual_value_cents > 0)
    ).scalar_one()
    if buyers == 0:
        return ClassCutoffs(a_min=1, b_min=1)
    a_pos, b_pos = rank_positions(buyers, a_share, b_share)

    def value_at(position: int) -> int:
        query = (
            select(customers.c.annual_value_cents)
            .where(customers.c.annual_value_cents > 0)
            .order_by(customers.c.annual_value_cents.desc())
            .offset(position)
            .limit(1)
        )
        return int(conn.execute(query).scalar_one())

    return ClassCutoffs(a_min=value_at(a_pos), b_min=value_at(b_pos))
