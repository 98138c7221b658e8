"""Table statistics: seed agreement, dead architectures, facts."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SYNTHETIC_BEST, synthetic_t81_data

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.spaces import Arch, get_space
from nasbench_tools.stats import (
    dead_archs,
    param_free_counts,
    rank_agreement,
    seed_agreement,
    table_agreement,
    table_facts,
)
from nasbench_tools.table import Benchmark, Metric
from nasbench_tools.table.benchmark import synthetic_data
from nasbench_tools.train import get_protocol

#: A complete protocol for the in-memory tables whose macro network matters (L = 5).
STANDARD = get_protocol("digits", "standard")


def test_identical_rankings_give_tau_one() -> None:
    # seeds differ only by a constant offset, so every seed ranks archs the same way
    agree = seed_agreement(Benchmark(synthetic_t81_data()))
    assert len(agree.pairs) == 3
    assert agree.mean_tau == 1.0


def test_reversed_ranking_gives_tau_minus_one() -> None:
    space = get_space("t16")
    err = np.stack([np.arange(16.0), np.arange(16.0)[::-1]], axis=1)
    assert seed_agreement(Benchmark(synthetic_data(space, err, seeds=(0, 1)))).mean_tau == -1.0


def test_dead_archs_follow_the_macro() -> None:
    space = get_space("t81-none")
    bench = Benchmark(synthetic_data(space, np.ones(81), seeds=(0,), protocol=STANDARD))
    dead = set(dead_archs(bench).tolist())
    # normal cell all-none: the last cell (normal) outputs nothing -> 9 archs;
    # reduce cell all-none with the normal edge from c_{k-2} none -> 2 more
    assert len(dead) == 11
    assert space.index(space.parse(
        "normal=none~0+none~1,reduce=sep_conv_3x3~0+sep_conv_3x3~1")) in dead
    assert space.index(space.parse(
        "normal=skip_connect~0+none~1,reduce=none~0+none~1")) not in dead
    t81 = Benchmark(synthetic_data(get_space("t81"), np.ones(81), protocol=STANDARD))
    assert len(dead_archs(t81)) == 0  # t81 has no none op


def test_table_facts() -> None:
    bench = Benchmark(synthetic_t81_data())
    facts = table_facts(bench)
    assert facts.best_arch == SYNTHETIC_BEST
    assert facts.test_err_min <= facts.test_err_median <= facts.test_err_max
    assert sum(n for _, n, _ in facts.by_param_free) == 81
    ids = np.arange(81)
    per_seed = [np.asarray(bench.query(ids, seed=s)) for s in bench.seeds]
    assert facts.best_per_seed == tuple(int(np.argmin(e)) for e in per_seed)
    runs = [float(e[facts.best_arch]) for e in per_seed]
    assert np.isclose(facts.best_seed_std, np.std(runs, ddof=1))


def test_table_facts_of_a_partial_table_count_only_archs_with_a_result() -> None:
    # a time-limited build leaves some archs without a result (NaN): group sizes and means
    # are over the others
    space = get_space("t81")
    err = np.arange(81.0)
    err[60:] = np.nan
    bench = Benchmark(synthetic_data(space, err, seeds=(0,)))
    facts = table_facts(bench)
    assert sum(n for _, n, _ in facts.by_param_free) == 60
    k_free = param_free_counts(bench)
    for k, n, mean in facts.by_param_free:
        members = np.flatnonzero(k_free[:60] == k)
        assert n == len(members) and np.isclose(mean, members.mean())


def test_param_free_counts_of_t81() -> None:
    # t81: each of 4 edges picks sep_conv_3x3 or one of two parameter-free ops, so k of the
    # 4 edges are parameter-free in C(4, k) * 2**k archs
    bench = Benchmark(synthetic_t81_data())
    counts = param_free_counts(bench)
    assert np.bincount(counts).tolist() == [1, 8, 24, 32, 16]
    space = bench.space
    assert space.op_names(Arch((0, 0, 0, 0))) == ("sep_conv_3x3",) * 4
    assert counts[space.index(Arch((0, 0, 0, 0)))] == 0
    assert [(k, n) for k, n, _ in table_facts(bench).by_param_free] == [
        (k, int((counts == k).sum())) for k in range(5)]
    normal, reduce = param_free_counts(bench, "normal"), param_free_counts(bench, "reduce")
    assert (normal + reduce == counts).all()
    assert np.bincount(reduce).tolist() == [9, 36, 36]  # 2 edges: C(2, r) * 2**r * 9 normal cells
    with pytest.raises(ConfigError, match=r"'middle'.*normal, reduce"):
        param_free_counts(bench, "middle")


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_rank_agreement_of_a_reversed_ranking() -> None:
    a = np.arange(20.0)
    r = rank_agreement(a, -a, rng=_rng())
    assert (r.tau, r.rho) == (-1.0, -1.0)
    assert r.top_k_overlap == 0.0 and r.best_rank_in_b == r.best_rank_in_a == 20 and r.n == 20


def test_rank_agreement_ignores_monotone_maps_and_item_order() -> None:
    g = _rng(1)
    a, b = g.normal(size=50), g.normal(size=50)
    b = a + b  # correlated
    base = rank_agreement(a, b, rng=_rng())
    perm = g.permutation(50)
    for x, y in ((np.exp(a), b ** 3), (a[perm], b[perm])):
        r = rank_agreement(x, y, rng=_rng())
        assert np.isclose(r.tau, base.tau) and np.isclose(r.rho, base.rho)
        assert r.top_k_overlap == base.top_k_overlap
    assert base.tau_ci[0] <= base.tau <= base.tau_ci[1]
    assert base.rho_ci[0] <= base.rho <= base.rho_ci[1]


def test_bootstrap_intervals_shrink_with_more_items_and_cover_zero_for_noise() -> None:
    g = _rng(2)
    widths = []
    for n in (40, 400):
        a = g.normal(size=n)
        r = rank_agreement(a, a + g.normal(size=n), rng=_rng(), n_boot=500)
        widths.append(r.tau_ci[1] - r.tau_ci[0])
    assert widths[1] < 0.5 * widths[0]  # ~1/sqrt(n): 0.32x expected
    noise = rank_agreement(g.normal(size=200), g.normal(size=200), rng=_rng(), n_boot=500)
    assert noise.tau_ci[0] < 0.0 < noise.tau_ci[1]


def test_rank_agreement_drops_nan_items_and_is_reproducible() -> None:
    a = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0])
    b = np.array([1.0, 3.0, 2.0, np.nan, 5.0, 4.0])
    r1, r2 = rank_agreement(a, b, rng=_rng(3)), rank_agreement(a, b, rng=_rng(3))
    assert r1 == r2 and r1.n == 4


@pytest.mark.parametrize("a,b,kw,needle", [
    (np.zeros(5), np.zeros(4), {}, "one length"),
    (np.array([1.0, np.nan, 3.0]), np.ones(3), {}, "at least 3 items"),
    (np.arange(5.0), np.arange(5.0), {"level": 95}, "confidence level"),
])
def test_rank_agreement_rejects_bad_input(a: np.ndarray, b: np.ndarray,
                                          kw: dict[str, float], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        rank_agreement(a, b, rng=_rng(), **kw)


def test_table_agreement() -> None:
    bench = Benchmark(synthetic_t81_data())
    r = table_agreement(bench, bench, rng=_rng(), n_boot=100)
    assert r.tau == 1.0 and r.n == 81 and r.best_rank_in_b == 1
    other = Benchmark(synthetic_data(get_space("t16"), np.arange(16.0)))
    with pytest.raises(ConfigError, match="different spaces"):
        table_agreement(bench, other, rng=_rng())


def test_row_wise_tau_and_rho_equal_scipy_with_ties() -> None:
    from scipy import stats

    from nasbench_tools.stats.compare import kendall_rows, spearman_rows

    g = _rng(4)
    x, y = g.integers(0, 6, (30, 25)).astype(float), g.integers(0, 4, (30, 25)).astype(float)
    tau, rho = kendall_rows(x, y), spearman_rows(x, y)
    for i in range(30):
        assert np.isclose(tau[i], stats.kendalltau(x[i], y[i]).statistic, atol=1e-12)
        assert np.isclose(rho[i], stats.spearmanr(x[i], y[i]).statistic, atol=1e-12)
    assert np.isnan(kendall_rows(np.ones((1, 5)), x[:1, :5])).all()


def test_table_report_values_equal_direct_computations() -> None:
    from scipy import stats as st

    from nasbench_tools.stats.table_report import table_report

    bench = Benchmark.open("data/t81-none-digits.h5")
    r = table_report(bench)
    ids = np.arange(81)
    err = np.asarray(bench.query(ids, Metric.TEST_ERR))
    valid = np.asarray(bench.query(ids, Metric.VALID_ERR))
    assert r.valid_test_tau == pytest.approx(st.kendalltau(valid, err).statistic)
    assert r.best_six[0] == (bench.best(), pytest.approx(err.min()))
    first = np.asarray(bench.query(ids, Metric.TEST_ERR, epoch=0))
    assert r.early_taus[0] == (1, pytest.approx(st.kendalltau(first, err).statistic))
    by_op = {u.op: u for u in r.uniform_cells}  # t81-none: all none, all skip, all sep
    assert set(by_op) == {"none", "skip_connect", "sep_conv_3x3"}
    sep = by_op["sep_conv_3x3"]
    assert sep.rank == int((err < err[sep.arch]).sum()) + 1 and r.n_done == 81
    assert r.live_tau is not None and r.live_tau[0] == len(dead_archs(bench))
    assert "## title" in r.format("title")
