"""The lift statistics on simulated data with a known truth: intervals that cover it as often as they say.

Each check runs many seeded experiments and compares the count with what a
95% interval promises, allowing for the binomial spread of that count (a
check fails only if the count would happen less than once in a thousand runs
of a correct method).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest

from reactivator.service.reporting.lift import ArmOutcome, arm_outcome, compare, more_needed

RUNS = 400


def simulate(rng: np.random.Generator, n: int, rate: float, mean_amount: float = 80.0) -> ArmOutcome:
    """`n` enrolled customers; each comes back with probability `rate` and spends a skewed amount."""
    back = rng.random(n) < rate
    # Lognormal order values (cents) with the given mean: a few big spenders, as in real shops.
    sigma = 0.8
    amounts = rng.lognormal(np.log(mean_amount * 100) - sigma**2 / 2, sigma, n).round().astype(int)
    revenue = np.where(back, amounts, 0)
    return arm_outcome(back.tolist(), revenue.tolist())


def test_the_return_rate_interval_covers_the_true_lift_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(20261206)
    true_lift = 0.05
    covered = 0
    for _ in range(RUNS):
        treated = simulate(rng, 2_000, 0.08 + true_lift)
        held = simulate(rng, 250, 0.08)
        lift = compare(treated, held).return_rate_lift
        assert lift is not None
        covered += lift.low <= true_lift <= lift.high
    assert binomtest(covered, RUNS, 0.95, alternative="less").pvalue > 0.001, covered
    assert covered < RUNS  # an interval that always covers says nothing


def test_the_incremental_revenue_interval_covers_the_true_extra_revenue() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    n_treated, mean_amount = 3_000, 80.0
    true_extra = 0.04 * mean_amount * 100 * n_treated  # cents over all treated customers
    for _ in range(RUNS):
        treated = simulate(rng, n_treated, 0.10 + 0.04, mean_amount)
        held = simulate(rng, 400, 0.10, mean_amount)
        extra = compare(treated, held).incremental_revenue_cents
        assert extra is not None
        covered += extra.low <= true_extra <= extra.high
    assert binomtest(covered, RUNS, 0.95, alternative="less").pvalue > 0.001, covered
    assert binomtest(covered, RUNS, 0.95, alternative="greater").pvalue > 0.001, covered


def test_without_a_true_effect_a_lift_is_called_significant_at_most_about_5_percent_of_the_time() -> None:
    rng = np.random.default_rng(11)
    significant = 0
    for _ in range(RUNS):
        treated = simulate(rng, 1_500, 0.07)
        held = simulate(rng, 170, 0.07)
        significant += compare(treated, held).significant
    assert binomtest(significant, RUNS, 0.05, alternative="greater").pvalue > 0.001, significant


def test_a_real_lift_on_a_large_enough_sample_is_significant_and_needs_no_more_customers() -> None:
    rng = np.random.default_rng(3)
    result = compare(simulate(rng, 20_000, 0.15), simulate(rng, 2_000, 0.08))
    assert result.significant
    assert result.more_needed is None
    assert result.return_rate_lift is not None
    assert 0.05 < result.return_rate_lift.value < 0.09


def test_the_sample_a_lift_needs_gives_about_80_percent_power() -> None:
    # Size the experiment with the advice for the true rates, then run it many times.
    planned = more_needed(
        arm_outcome([True] * 12 + [False] * 88, [1] * 100), arm_outcome([True] * 8 + [False] * 92, [1] * 100)
    )
    assert planned is not None
    total = planned + 200
    treated_n, held_n = total // 2, total - total // 2
    rng = np.random.default_rng(5)
    hits = sum(
        compare(simulate(rng, treated_n, 0.12), simulate(rng, held_n, 0.08)).significant for _ in range(RUNS)
    )
    assert 0.72 * RUNS < hits < 0.88 * RUNS, hits


def test_no_positive_lift_means_no_sample_size_advice_and_a_small_control_means_no_interval() -> None:
    worse = compare(
        arm_outcome([True] * 5 + [False] * 95, [1] * 100), arm_outcome([True] * 9 + [False] * 91, [1] * 100)
    )
    assert worse.more_needed is None
    assert not worse.significant
    lonely = compare(arm_outcome([True, False, False], [1, 0, 0]), arm_outcome([True], [1]))
    assert lonely.return_rate_lift is None
    assert not lonely.significant


def test_nobody_came_back_in_either_arm_gives_a_zero_lift_without_warnings() -> None:
    result = compare(arm_outcome([False] * 50, [0] * 50), arm_outcome([False] * 10, [0] * 10))
    assert result.return_rate_lift is not None
    assert result.return_rate_lift.value == 0
    assert result.relative_lift is None
    assert result.incremental_revenue_cents is not None
    assert result.incremental_revenue_cents.value == 0
    assert not result.significant
