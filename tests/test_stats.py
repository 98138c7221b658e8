"""Table statistics: seed agreement, dead architectures, facts."""

from __future__ import annotations

import numpy as np
from conftest import SYNTHETIC_BEST, synthetic_t81_data

from nasbench_tools.spaces import get_space
from nasbench_tools.stats import dead_archs, seed_agreement, table_facts
from nasbench_tools.table import Benchmark
from nasbench_tools.table.benchmark import synthetic_data


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
    bench = Benchmark(synthetic_data(space, np.ones(81), seeds=(0,), protocol={"layers": 5}))
    dead = set(dead_archs(bench).tolist())
    # normal cell all-none: the last cell (normal) outputs nothing -> 9 archs;
    # reduce cell all-none with the normal edge from c_{k-2} none -> 2 more
    assert len(dead) == 11
    assert space.index(space.parse(
        "normal=none~0+none~1,reduce=sep_conv_3x3~0+sep_conv_3x3~1")) in dead
    assert space.index(space.parse(
        "normal=skip_connect~0+none~1,reduce=none~0+none~1")) not in dead
    t81 = Benchmark(synthetic_data(get_space("t81"), np.ones(81), protocol={"layers": 5}))
    assert len(dead_archs(t81)) == 0  # t81 has no none op


def test_table_facts() -> None:
    facts = table_facts(Benchmark(synthetic_t81_data()))
    assert facts.best_arch == SYNTHETIC_BEST
    assert facts.test_err_min <= facts.test_err_median <= facts.test_err_max
    assert sum(n for _, n, _ in facts.by_param_free) == 81
