"""Customer value: annual value, lifetime value and the A/B/C classes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from reactivator.core.model import ValueClass
from reactivator.core.value import (
    DAYS_PER_YEAR,
    ClassCutoffs,
    annual_value_cents,
    class_cutoffs,
    lifetime_value_cents,
    rank_positions,
)

FIRST = datetime(2022, 1, 1, tzinfo=UTC)


# --- annual value ---


def test_single_order_counts_as_a_full_year() -> None:
    assert annual_value_cents(50_000, FIRST, FIRST) == 50_000


def test_short_relationship_is_not_mistaken_for_a_huge_yearly_rate() -> None:
    assert annual_value_cents(50_000, FIRST, FIRST + timedelta(days=30)) == 50_000


def test_exactly_one_year_of_tenure_gives_the_revenue() -> None:
    assert annual_value_cents(50_000, FIRST, FIRST + timedelta(days=DAYS_PER_YEAR)) == 50_000


def test_two_year_tenure_halves_the_annual_value() -> None:
    assert annual_value_cents(50_000, FIRST, FIRST + timedelta(days=2 * DAYS_PER_YEAR)) == 25_000


def test_four_year_tenure_quarters_the_annual_value() -> None:
    assert annual_value_cents(100_000, FIRST, FIRST + timedelta(days=4 * DAYS_PER_YEAR)) == 25_000


@pytest.mark.parametrize(("first", "last"), [(None, FIRST), (FIRST, None), (None, None)])
def test_customer_without_purchase_dates_has_no_annual_value(
    first: datetime | None, last: datetime | None
) -> None:
    assert annual_value_cents(50_000, first, last) == 0


@pytest.mark.parametrize("revenue", [0, -500])
def test_no_or_negative_revenue_has_no_annual_value(revenue: int) -> None:
    assert annual_value_cents(revenue, FIRST, FIRST + timedelta(days=800)) == 0


def test_lifetime_value_is_annual_value_times_expected_years() -> None:
    assert lifetime_value_cents(25_000, 3.0) == 75_000
    assert lifetime_value_cents(10_001, 2.5) == 25_002  # 25_002.5 rounds to an int


def test_the_source_example_five_years_of_ten_books_at_500() -> None:
    annual = annual_value_cents(10 * 500_00, FIRST, FIRST)
    assert lifetime_value_cents(annual, 5) == 25_000_00


# --- classes ---


def classes_of(values_desc: list[int], a_share: float = 0.2, b_share: float = 0.3) -> list[ValueClass]:
    cutoffs = class_cutoffs(values_desc, a_share, b_share)
    return [cutoffs.classify(v) for v in values_desc]


def test_top_20_percent_are_a_and_next_30_percent_are_b() -> None:
    values = [1000, 900, 800, 700, 600, 500, 400, 300, 200, 100]
    assert classes_of(values) == [ValueClass.A] * 2 + [ValueClass.B] * 3 + [ValueClass.C] * 5


def test_class_shares_hold_for_a_hundred_distinct_values() -> None:
    values = list(range(100_000, 0, -1_000))
    counts = Counter(classes_of(values))
    assert counts == {ValueClass.A: 20, ValueClass.B: 30, ValueClass.C: 50}


def test_cutoffs_are_the_least_value_of_each_class() -> None:
    values = [1000, 900, 800, 700, 600, 500, 400, 300, 200, 100]
    assert class_cutoffs(values, 0.2, 0.3) == ClassCutoffs(a_min=900, b_min=600)


def test_tied_values_at_the_cutoff_share_the_higher_class() -> None:
    values = [1000, 500, 500, 500, 300, 300, 300, 300, 100, 100]
    classes = classes_of(values)
    assert classes[:4] == [ValueClass.A] * 4
    assert classes[4:8] == [ValueClass.B] * 4
    assert classes[8:] == [ValueClass.C] * 2


def test_equal_values_always_get_the_same_class() -> None:
    values = [700, 700, 700, 700, 700, 200, 200, 200, 200, 200]
    by_value: dict[int, set[ValueClass]] = {}
    for value, cls in zip(values, classes_of(values), strict=True):
        by_value.setdefault(value, set()).add(cls)
    assert all(len(classes) == 1 for classes in by_value.values())


def test_single_buyer_is_class_a() -> None:
    assert classes_of([4_200]) == [ValueClass.A]


def test_empty_input_gives_cutoffs_that_put_no_value_in_class_a() -> None:
    cutoffs = class_cutoffs([], 0.2, 0.3)
    assert cutoffs == ClassCutoffs(a_min=1, b_min=1)
    assert cutoffs.classify(0) is ValueClass.C


def test_customer_with_no_annual_value_is_never_class_a_or_b() -> None:
    values = [90_000, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert classes_of(values)[1:] == [ValueClass.C] * 9


@pytest.mark.parametrize(
    ("value", "expected"),
    [(901, ValueClass.A), (900, ValueClass.A), (899, ValueClass.B), (600, ValueClass.B), (599, ValueClass.C)],
)
def test_classify_boundaries_are_inclusive(value: int, expected: ValueClass) -> None:
    assert ClassCutoffs(a_min=900, b_min=600).classify(value) is expected


def test_rank_positions_for_ten_buyers() -> None:
    assert rank_positions(10, 0.2, 0.3) == (1, 4)


def test_rank_positions_never_point_before_the_first_buyer() -> None:
    assert rank_positions(1, 0.2, 0.3) == (0, 0)
    assert rank_positions(2, 0.1, 0.1) == (0, 0)


def test_zero_b_share_leaves_no_b_class() -> None:
    values = [1000, 900, 800, 700, 600, 500, 400, 300, 200, 100]
    assert rank_positions(10, 0.2, 0.0) == (1, 1)
    assert ValueClass.B not in classes_of(values, 0.2, 0.0)
