"""How reproducible a table's ranking is, and the DARTS-relevant facts of a table.

``seed_agreement`` is the mean pairwise Kendall tau between the per-seed rankings of the final
test error: 1 means every seed ranks the architectures identically, 0 means no agreement.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import stats

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.spaces import PARAMETER_FREE_OPS, CellSpace, reduction_indices
from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.table.schema import Metric


@dataclass(frozen=True)
class SeedAgreement:
    """Kendall tau of every pair of seeds (``pairs[i] = (seed_a, seed_b, tau)``) and their mean."""

    pairs: tuple[tuple[int, int, float], ...]
    metric: Metric

    @property
    def mean_tau(self) -> float:
        return float(np.mean([t for _, _, t in self.pairs])) if self.pairs else float("nan")


def seed_agreement(bench: Benchmark, metric: Metric = Metric.TEST_ERR, *,
                   archs: np.ndarray | None = None) -> SeedAgreement:
    """Pairwise Kendall tau (tau-b, ties handled) of ``metric`` at the last epoch across seeds,
    over ``archs`` (default: all) where both seeds have a value."""
    ids = np.arange(bench.n_archs) if archs is None else np.asarray(archs)
    per_seed = {s: np.asarray(bench.query(ids, metric, seed=s)) for s in bench.seeds}
    pairs = []
    for a, b in itertools.combinations(bench.seeds, 2):
        ok = np.isfinite(per_seed[a]) & np.isfinite(per_seed[b])
        tau = stats.kendalltau(per_seed[a][ok], per_seed[b][ok]).statistic
        pairs.append((a, b, float(tau)))
    return SeedAgreement(pairs=tuple(pairs), metric=metric)


def dead_archs(bench: Benchmark) -> np.ndarray:
    """Ids of the architectures through which no input-dependent signal reaches the head.

    Follows the macro network (``layers`` from the table's protocol, reductions at L//3 and
    2L//3): a node carries signal when one of its non-``none`` edges starts at a node that does.
    Such networks can only learn the class prior (chance-level accuracy).
    """
    space, layers = bench.space, bench.protocol.layers
    reductions = set(reduction_indices(layers))
    return np.array([i for i in range(space.size) if not _carries_signal(space, i, layers,
                                                                          reductions)],
                    dtype=np.int64)


def _carries_signal(space: CellSpace, arch_id: int, layers: int, reductions: set[int]) -> bool:
    names = space.op_names(space.arch(arch_id))
    prev_prev, prev = True, True  # the stem feeds both inputs of the first cell
    for k in range(layers):
        cell = "reduce" if k in reductions and not space.shared else "normal"
        alive = [prev_prev, prev]
        for node in range(2, 2 + space.nodes):
            alive.append(any(alive[e.source] and n != "none"
                             for e, n in zip(space.edges, names, strict=True)
                             if e.cell == cell and e.node == node))
        prev_prev, prev = prev, any(alive[-space.multiplier:])
    return prev


def param_free_counts(bench: Benchmark, cell: str | None = None) -> np.ndarray:
    """Number of parameter-free ops (``none``, skip, pooling) of every arch, indexed by arch id;
    with ``cell`` (``"normal"`` or ``"reduce"``) only those on that cell's edges."""
    space = bench.space
    if cell is not None and cell not in space.cells:
        raise ConfigError(f"cell {cell!r} is not in space {space.name!r}; it has "
                          f"{', '.join(space.cells)}")
    keep = [cell is None or e.cell == cell for e in space.edges]
    return np.array([sum(k and op in PARAMETER_FREE_OPS
                         for k, op in zip(keep, space.op_names(space.arch(i)), strict=True))
                     for i in range(bench.n_archs)], dtype=int)


@dataclass(frozen=True)
class TableFacts:
    """Spread of the mean test error and its dependence on the number of parameter-free ops."""

    test_err_min: float
    test_err_median: float
    test_err_max: float
    best_arch: int
    best_genotype: str
    by_param_free: tuple[tuple[int, int, float], ...]  # (k ops, n archs with a result, mean %)
    seed_std_mean: float  # mean over archs of the std of test error across seeds
    best_per_seed: tuple[int, ...]  # best arch of each seed, in the order of ``bench.seeds``
    best_seed_std: float  # std of the best arch's test error across seeds


def table_facts(bench: Benchmark) -> TableFacts:
    ids = np.arange(bench.n_archs)
    err = np.asarray(bench.query(ids, Metric.TEST_ERR))
    per_seed = np.stack([np.asarray(bench.query(ids, Metric.TEST_ERR, seed=s))
                         for s in bench.seeds])
    space = bench.space
    k_free = param_free_counts(bench)
    done = np.isfinite(err)  # archs with a result: all of them unless the build is partial
    k_done, err_done = k_free[done], err[done]
    groups = tuple((int(k), int((k_done == k).sum()), float(err_done[k_done == k].mean()))
                   for k in np.unique(k_done))
    best = bench.best(Metric.TEST_ERR)
    several = len(bench.seeds) > 1
    return TableFacts(
        test_err_min=float(np.nanmin(err)), test_err_median=float(np.nanmedian(err)),
        test_err_max=float(np.nanmax(err)), best_arch=best,
        best_genotype=space.genotype(space.arch(best)), by_param_free=groups,
        seed_std_mean=float(np.nanmean(np.nanstd(per_seed, axis=0, ddof=1)))
        if several else float("nan"),
        best_per_seed=tuple(int(np.nanargmin(row)) for row in per_seed),
        best_seed_std=float(np.nanstd(per_seed[:, best], ddof=1)) if several else float("nan"),
    )
