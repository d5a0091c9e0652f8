"""The dry run's trace as JSON lines made by the database, one per customer.

The same decision columns as `PlanQuery.trace`, shaped in SQL the way
`PlannedCustomer` reads them (the step's key, the arm as core.ladder.arm_of
shows it), so printing a trace of every dormant customer is a copy, not a
Python loop. A contract test holds these lines equal to the rows, field by field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Select, and_, case, literal_column, not_, null, or_, select

from reactivator.core.model import DUE_VERDICTS, STEPLESS_VERDICTS
from reactivator.db.json_sql import iso_utc, json_bool, json_line
from reactivator.db.planner import PlanQuery, per_step

# Rows fetched from the database at a time: memory stays flat, round trips stay few.
_FETCH = 5000


def _key(name: str) -> Any:
    # A constant key, written into the SQL: PostgreSQL cannot type a bound parameter in json_build_object.
    return literal_column(f"'{name}'")


def trace_lines_query(plan: PlanQuery, limit: int | None = None) -> Select[Any]:
    # The decisions are worked out once per customer into a materialised table, then shaped:
    # written inline, each CASE would run again for every field that reads the verdict.
    d = plan.trace(limit).cte("decisions").prefix_with("MATERIALIZED")
    stepless = d.c.verdict.in_(sorted(v.value for v in STEPLESS_VERDICTS))
    due = d.c.verdict.in_(sorted(v.value for v in DUE_VERDICTS))
    step = case((stepless, null()), else_=per_step(plan.policy, d.c.kind, d.c.step_index, lambda s: s.key))
    arm = case(
        (or_(stepless, d.c.step_index.is_(None), and_(d.c.enters, not_(due))), null()),
        else_=d.c.arm,
    )
    line = json_line(
        _key("customer"),
        d.c.external_id,
        _key("last_purchase_at"),
        iso_utc(d.c.last_purchase_at),
        _key("value_class"),
        d.c.value_class,
        _key("decision"),
        d.c.verdict,
        _key("step"),
        step,
        _key("enters"),
        json_bool(d.c.enters),
        _key("arm"),
        arm,
    )
    return select(line.label("line")).order_by(d.c.id)


def iter_trace_lines(conn: Connection, plan: PlanQuery, limit: int | None = None) -> Iterator[list[str]]:
    """The trace's JSON lines, a few thousand at a time, in customer order."""
    result = conn.execution_options(stream_results=True, yield_per=_FETCH).execute(
        trace_lines_query(plan, limit)
    )
    for part in result.scalars().partitions():
        yield list(part)
