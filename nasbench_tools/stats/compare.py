"""Do two rankings of the same architectures agree? Kendall tau and Spearman rho with bootstrap
confidence intervals, and the overlap of the top k.

For comparing tables of one space: a cheap protocol against a long one (does the reduced table
rank like the converged one?), one dataset against another, a search proxy against the table.

>>> import numpy as np
>>> a = np.arange(20.0)
>>> r = rank_agreement(a, a ** 2, rng=np.random.default_rng(0))  # a monotone transform
>>> r.tau, [round(v, 9) for v in r.tau_ci], r.top_k_overlap
(1.0, [1.0, 1.0], 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.table.schema import Metric


@dataclass(frozen=True)
class RankAgreement:
    """Agreement of two score vectors over ``n`` items (lower score = better).

    ``*_ci`` are percentile bootstrap intervals over the items (resampled with replacement),
    at ``level``. ``top_k_overlap``: the share of the ``k`` best items of the first ranking
    that are among the ``k`` best of the second; ``best_rank_in_b``: where the first
    ranking's best item stands in the second (1 = best), ``best_rank_in_a`` the reverse.
    """

    n: int
    tau: float
    tau_ci: tuple[float, float]
    rho: float
    rho_ci: tuple[float, float]
    k: int
    top_k_overlap: float
    best_rank_in_b: int
    best_rank_in_a: int
    level: float

    def line(self) -> str:
        pct = f"{100 * self.level:g} %"
        return (f"n={self.n}: Kendall tau {self.tau:.3f} [{self.tau_ci[0]:.3f}, "
                f"{self.tau_ci[1]:.3f}], Spearman rho {self.rho:.3f} [{self.rho_ci[0]:.3f}, "
                f"{self.rho_ci[1]:.3f}] ({pct} bootstrap CIs); top-{self.k} overlap "
                f"{self.top_k_overlap:.2f}; a's best is #{self.best_rank_in_b} in b")


def rank_agreement(a: np.ndarray, b: np.ndarray, *, rng: np.random.Generator, k: int = 10,
                   n_boot: int = 2000, level: float = 0.95) -> RankAgreement:
    """Agreement of the scores ``a`` and ``b`` of the same items; items where either is NaN
    are left out. ``rng`` draws the bootstrap resamples."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ConfigError(f"rank_agreement needs two 1-d arrays of one length, got shapes "
                          f"{a.shape} and {b.shape}")
    if not 0.0 < level < 1.0:
        raise ConfigError(f"confidence level must be in (0, 1), got {level}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = len(a)
    if n < 3:
        raise ConfigError(f"rank_agreement needs at least 3 items with both scores, got {n}")
    k = min(k, n)
    tau = float(stats.kendalltau(a, b).statistic)
    rho = float(stats.spearmanr(a, b).statistic)
    idx = rng.integers(0, n, (n_boot, n))
    boot = np.stack([kendall_rows(a[idx], b[idx]), spearman_rows(a[idx], b[idx])], axis=1)
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    (t_lo, r_lo), (t_hi, r_hi) = np.nanpercentile(boot, q, axis=0)
    top_a, top_b = np.argsort(a, kind="stable")[:k], np.argsort(b, kind="stable")[:k]
    return RankAgreement(n=n, tau=tau, tau_ci=(float(t_lo), float(t_hi)), rho=rho,
                         rho_ci=(float(r_lo), float(r_hi)), k=k,
                         top_k_overlap=len(set(top_a.tolist()) & set(top_b.tolist())) / k,
                         best_rank_in_b=int((b < b[top_a[0]]).sum()) + 1,
                         best_rank_in_a=int((a < a[top_b[0]]).sum()) + 1, level=level)


def table_agreement(first: Benchmark, second: Benchmark, metric: Metric = Metric.TEST_ERR, *,
                    rng: np.random.Generator, k: int = 10, n_boot: int = 2000,
                    level: float = 0.95) -> RankAgreement:
    """`rank_agreement` of the seed-mean final ``metric`` of two tables of one space."""
    if first.space.name != second.space.name or first.n_archs != second.n_archs:
        raise ConfigError(f"tables of different spaces ({first.space.name!r}, "
                          f"{second.space.name!r}) rank different architectures")
    ids = np.arange(first.n_archs)
    return rank_agreement(np.asarray(first.query(ids, metric)),
                          np.asarray(second.query(ids, metric)), rng=rng, k=k,
                          n_boot=n_boot, level=level)


def kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b of every row pair of ``x`` and ``y`` ([m, n]), as `scipy.stats.kendalltau`
    gives it (ties in either count as in tau-b); NaN where a row is constant."""
    out = np.empty(len(x))
    chunk = max(1, 2_000_000 // max(x.shape[1] ** 2, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        for s in range(0, len(x), chunk):
            sx = np.sign(x[s:s + chunk, :, None] - x[s:s + chunk, None, :])
            sy = np.sign(y[s:s + chunk, :, None] - y[s:s + chunk, None, :])
            out[s:s + chunk] = (sx * sy).sum((1, 2)) / np.sqrt(
                (sx * sx).sum((1, 2)) * (sy * sy).sum((1, 2)))
    return out


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of every row pair (Pearson correlation of average ranks); NaN where a row
    is constant."""
    rx, ry = stats.rankdata(x, axis=1), stats.rankdata(y, axis=1)
    rx -= rx.mean(1, keepdims=True)
    ry -= ry.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(1) / np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
