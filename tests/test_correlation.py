"""Correlations, their intervals and p-values, and Holm's adjustment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.stats.correlation import (
    STATISTICS,
    adjust,
    correlate,
    holm,
    statistic,
)


@pytest.mark.parametrize("seed", range(5))
def test_statistics_equal_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=25)
    y = 0.5 * x + rng.normal(size=25)
    x[3] = x[7]  # a tie in x
    y[:4] = np.round(y[:4])  # and maybe in y
    assert statistic("pearson", x, y) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    assert statistic("spearman", x, y) == pytest.approx(stats.spearmanr(x, y).statistic,
                                                        abs=1e-12)
    assert statistic("kendall", x, y) == pytest.approx(stats.kendalltau(x, y).statistic,
                                                       abs=1e-12)


def test_monotone_data_gives_one_with_a_tight_interval() -> None:
    x = np.arange(15.0)
    r = correlate(x, np.exp(x / 3.0), seed=1)
    for name in ("spearman", "kendall"):
        e = r[name]
        assert e.value == pytest.approx(1.0)
        assert 0.9 < e.ci_low <= e.ci_high <= 1.0
        assert e.p_value < 0.01
    assert 0.9 < r["pearson"].ci_high <= 1.0
    assert r.n == 15


def test_independent_data_mostly_gives_intervals_containing_zero() -> None:
    contains = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        r = correlate(rng.normal(size=30), rng.normal(size=30), n_resamples=499,
                      n_permutations=499, seed=seed)
        contains += r["spearman"].ci_low <= 0.0 <= r["spearman"].ci_high
    assert contains >= 16  # a 95 % interval misses 0 in about 1 of 20 seeds


def test_permutation_p_value_is_small_for_strong_and_large_for_no_association() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    assert correlate(x, x + 0.3 * rng.normal(size=40))["pearson"].p_value < 0.001
    assert correlate(x, rng.normal(size=40))["pearson"].p_value > 0.05


def test_nan_pairs_are_dropped_and_small_n_gives_no_interval() -> None:
    r = correlate([1.0, 2.0, np.nan, 4.0], [2.0, 1.0, 5.0, np.nan])
    assert r.n == 2
    assert all(np.isnan(e.value) and np.isnan(e.ci_low) for e in r.estimates)
    small = correlate([1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
    assert small.n == 3 and small["pearson"].value == pytest.approx(0.5)
    assert np.isnan(small["pearson"].ci_low) and np.isnan(small["pearson"].p_value)


def test_constant_variable_is_not_computable() -> None:
    r = correlate(np.arange(10.0), np.ones(10))
    assert all(np.isnan(e.value) for e in r.estimates)


def test_the_fit_is_least_squares() -> None:
    x = np.arange(10.0)
    r = correlate(x, 3.0 * x - 2.0)
    assert (r.slope, r.intercept) == pytest.approx((3.0, -2.0))


def test_same_seed_same_numbers() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=20), rng.normal(size=20)
    a, b = correlate(x, y, seed=7), correlate(x, y, seed=7)
    assert a.to_frame().equals(b.to_frame())


def test_block_bootstrap_and_circular_shift_p() -> None:
    t = np.arange(30.0)
    r = correlate(t, 2 * t + np.sin(t), block=3, level="within", run="r0", seed=0)
    assert r["spearman"].value > 0.95 and r["spearman"].ci_low > 0.9
    # circular shifts: n - 1 = 29 alternatives, so the p-value is a multiple of 1/30
    assert r["spearman"].p_value * 30 == pytest.approx(round(r["spearman"].p_value * 30))
    assert "block" in r.ci_method and "circular" in r.p_method
    assert r.level == "within" and r.run == "r0"


def test_holm_equals_a_hand_computed_case() -> None:
    # sorted 0.01, 0.02, 0.03, 0.04 (m = 4): 4*0.01 = 0.04, 3*0.02 = 0.06, 2*0.03 = 0.06,
    # 1*0.04 = 0.04 -> running max 0.04, 0.06, 0.06, 0.06; NaN is not counted
    p = [0.03, 0.01, np.nan, 0.04, 0.02]
    np.testing.assert_allclose(holm(p), [0.06, 0.04, np.nan, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])


def test_adjust_fills_p_holm_per_statistic() -> None:
    rng = np.random.default_rng(5)
    results = [correlate(rng.normal(size=12), rng.normal(size=12), x_name=f"x{i}")
               for i in range(3)]
    family = adjust(results)
    for name in STATISTICS:
        raw = [r[name].p_value for r in results]
        np.testing.assert_allclose([r[name].p_holm for r in family.results], holm(raw))
    frame = family.to_frame()
    assert list(frame.columns[:11]) == ["x", "y", "level", "method", "run", "statistic",
                                        "value", "ci_low", "ci_high", "p_value", "p_holm"]
    assert "n" in frame.columns and len(frame) == 9


def test_bad_arguments_raise() -> None:
    with pytest.raises(ConfigError, match="paired"):
        correlate([1.0, 2.0], [1.0])
    with pytest.raises(ConfigError, match="block length"):
        correlate(np.arange(5.0), np.arange(5.0), block=0)
    with pytest.raises(UnknownNameError, match="allowed: kendall, pearson, spearman"):
        statistic("cosine", np.arange(5.0), np.arange(5.0))


def test_undefined_bca_falls_back_to_the_percentile_interval() -> None:
    # a near-monotone relation: BCa's bias correction is undefined (the observed rho sits at
    # the edge of the resamples), so the percentile interval of the same resamples is given
    x = np.repeat(np.arange(4.0), 3)
    y = -x + 0.01 * np.tile([0.0, 1.0, 2.0], 4)
    r = correlate(x, y, n_resamples=999, seed=0)
    e = r["spearman"]
    assert np.isfinite(e.ci_low) and e.ci_low <= e.value <= e.ci_high <= 0
    assert "percentile where BCa is undefined" in r.ci_method
