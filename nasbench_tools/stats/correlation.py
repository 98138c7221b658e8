"""Correlations with confidence intervals and permutation p-values, and Holm's adjustment.

``correlate(x, y)`` gives Pearson's r, Spearman's rho and Kendall's tau-b of paired values,
each with a paired bootstrap confidence interval (`scipy.stats.bootstrap`, BCa by default) and
a two-sided permutation p-value (`scipy.stats.permutation_test`, permuting the pairings; exact
when every permutation fits in the resample budget). Pairs with a NaN are dropped first.

Points that are epochs of one search are not independent: with ``block=b`` the interval comes
from a moving-block bootstrap (blocks of ``b`` consecutive points, percentile interval) and the
p-value from all circular shifts of ``y`` against ``x``, which keep each series' own
autocorrelation (a permutation of single epochs would not, and would give too small p-values).

>>> import numpy as np
>>> r = correlate(np.arange(12.0), np.arange(12.0) ** 2, x_name="a", y_name="b", seed=0)
>>> round(r["spearman"].value, 3), r["spearman"].ci_high <= 1.0, r.n
(1.0, True, 12)
>>> holm([0.01, 0.04, 0.03]).round(2).tolist()
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy import stats

from nasbench_tools.exceptions import ConfigError, UnknownNameError

if TYPE_CHECKING:
    import pandas as pd

#: The three statistics, in the order every result lists them.
STATISTICS = ("pearson", "spearman", "kendall")
#: Fewest pairs for which intervals and p-values are computed (the value needs 3).
MIN_N = 4


# -- vectorised statistics over the last axis (each equals scipy's own function) -----------
def _pearson(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    y = np.moveaxis(np.asarray(y, dtype=np.float64), axis, -1)
    dx = x - x.mean(axis=-1, keepdims=True)
    dy = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((dx * dx).sum(-1) * (dy * dy).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dx * dy).sum(-1) / den
    # a constant resample carries no association: 0 rather than NaN, so intervals stay defined
    return np.clip(np.where(den > 0, r, 0.0), -1.0, 1.0)


def _spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return _pearson(stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis), axis=axis)


def _kendall(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Kendall's tau-b (ties in either variable handled as in `scipy.stats.kendalltau`)."""
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    y = np.moveaxis(np.asarray(y, dtype=np.float64), axis, -1)
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    den = np.sqrt((sx * sx).sum((-2, -1)) * (sy * sy).sum((-2, -1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (sx * sy).sum((-2, -1)) / den
    return np.clip(np.where(den > 0, tau, 0.0), -1.0, 1.0)


_Fn = Callable[..., np.ndarray]
_FUNCTIONS: dict[str, _Fn] = {"pearson": _pearson, "spearman": _spearman, "kendall": _kendall}


def statistic(name: str, x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """One of `STATISTICS` of two 1-d arrays (NaN when either is constant or n < 3)."""
    if name not in _FUNCTIONS:
        raise UnknownNameError("statistic", name, STATISTICS)
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(xa) < 3 or np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return float("nan")
    return float(_FUNCTIONS[name](xa, ya))


# -- values -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """One statistic with its interval (``confidence`` level) and two-sided p-values."""

    statistic: str
    value: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float = float("nan")  # set when the estimate is part of an adjusted family

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies strictly on one side of 0 (False when undefined)."""
        return bool(self.ci_low > 0 or self.ci_high < 0)


@dataclass(frozen=True)
class CorrelationResult:
    """Pearson, Spearman and Kendall of ``y`` against ``x`` over ``n`` pairs.

    ``level`` says what a point is (``across``: one run; ``within``: one epoch of ``run``;
    ``within-mean``: one run's within-run statistic); ``group`` names the runs (a method, or
    ``all``). ``slope`` and ``intercept`` are the least-squares line of y on x.
    """

    x: str
    y: str
    n: int
    estimates: tuple[Estimate, ...]
    ci_method: str
    p_method: str
    level: str = "across"
    group: str = "all"
    run: str = ""
    confidence: float = 0.95
    slope: float = float("nan")
    intercept: float = float("nan")

    def __getitem__(self, name: str) -> Estimate:
        for e in self.estimates:
            if e.statistic == name:
                return e
        raise UnknownNameError("statistic", name, [e.statistic for e in self.estimates])

    def rows(self) -> list[dict[str, object]]:
        return [{"x": self.x, "y": self.y, "level": self.level, "method": self.group,
                 "run": self.run, "statistic": e.statistic, "value": e.value,
                 "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value,
                 "p_holm": e.p_holm, "n": self.n, "confidence": self.confidence,
                 "ci_method": self.ci_method, "p_method": self.p_method}
                for e in self.estimates]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows())


@dataclass(frozen=True)
class CorrelationFamily:
    """Results whose p-values were adjusted together by Holm's step-down method."""

    results: tuple[CorrelationResult, ...]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([row for r in self.results for row in r.rows()], columns=_COLUMNS)

    def __len__(self) -> int:
        return len(self.results)


_COLUMNS = ["x", "y", "level", "method", "run", "statistic", "value", "ci_low", "ci_high",
            "p_value", "p_holm", "n", "confidence", "ci_method", "p_method"]


# -- Holm -------------------------------------------------------------------------------------
def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order; NaN entries stay NaN and are not
    counted in the family size."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


def adjust(results: Sequence[CorrelationResult], *, per_statistic: bool = True
           ) -> CorrelationFamily:
    """Holm over ``results``, filling ``p_holm``: one family per statistic (Pearson's p-values
    adjusted together, Spearman's together, ...), or all estimates as one family."""
    names = {e.statistic for r in results for e in r.estimates}
    families = [{n} for n in sorted(names)] if per_statistic else [names]
    adjusted: dict[tuple[int, str], float] = {}
    for family in families:
        keys = [(i, e.statistic) for i, r in enumerate(results) for e in r.estimates
                if e.statistic in family]
        p = [results[i][name].p_value for i, name in keys]
        adjusted.update(zip(keys, holm(p).tolist(), strict=True))
    out = tuple(replace(r, estimates=tuple(replace(e, p_holm=adjusted[(i, e.statistic)])
                                           for e in r.estimates))
                for i, r in enumerate(results))
    return CorrelationFamily(out)


# -- correlate --------------------------------------------------------------------------------
def correlate(
    x: npt.ArrayLike, y: npt.ArrayLike, *, x_name: str = "x",
    y_name: str = "y", level: str = "across", group: str = "all", run: str = "",
    block: int | None = None, n_resamples: int = 1999, n_permutations: int = 9999,
    confidence: float = 0.95, ci_method: str = "BCa",
    seed: int | np.random.Generator | None = 0,
) -> CorrelationResult:
    """Pearson, Spearman and Kendall of paired values with intervals and p-values.

    ``block=None``: points are independent (runs): paired bootstrap (``ci_method`` ``BCa``,
    ``percentile`` or ``basic`` of `scipy.stats.bootstrap`) and a permutation test of the
    pairings. ``block=b``: points are consecutive epochs: moving-block bootstrap with blocks of
    ``b`` (percentile) and the circular-shift test. ``n_resamples`` bootstrap resamples,
    ``n_permutations`` permutations (the smallest p-value is 1 / (n_permutations + 1)). Below
    `MIN_N` pairs, intervals and p-values are NaN; a constant variable gives NaN throughout.
    """
    xa, ya = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if xa.shape != ya.shape:
        raise ConfigError(f"correlate needs paired values, got {xa.size} x and {ya.size} y")
    if not 0.0 < confidence < 1.0 or n_resamples < 1 or n_permutations < 1:
        raise ConfigError("correlate needs 0 < confidence < 1, n_resamples >= 1 and "
                          "n_permutations >= 1")
    if block is not None and block < 1:
        raise ConfigError(f"block length {block} must be >= 1")
    keep = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[keep], ya[keep]
    rng = np.random.default_rng(seed)
    n = int(xa.size)
    if block is None:
        ci_text = f"paired bootstrap ({ci_method}, {n_resamples} resamples)" + (
            "; percentile where BCa is undefined" if ci_method == "BCa" else "")
        p_text = f"permutation of pairings ({n_permutations}, exact when n! is fewer)"
    else:
        ci_text = f"moving-block bootstrap (blocks of {block}, percentile, {n_resamples})"
        p_text = "circular shifts of y against x (all n - 1)"
    estimates = tuple(_estimate(name, xa, ya, block, (n_resamples, n_permutations), confidence,
                                ci_method, rng) for name in STATISTICS)
    slope = intercept = float("nan")
    if n >= 2 and np.ptp(xa) > 0:
        slope, intercept = (float(v) for v in np.polyfit(xa, ya, 1))
    return CorrelationResult(x=x_name, y=y_name, n=n, estimates=estimates, ci_method=ci_text,
                             p_method=p_text, level=level, group=group, run=run,
                             confidence=confidence, slope=slope, intercept=intercept)


def _estimate(name: str, x: np.ndarray, y: np.ndarray, block: int | None,
              counts: tuple[int, int], confidence: float, ci_method: str,
              rng: np.random.Generator) -> Estimate:
    value = statistic(name, x, y)
    if math.isnan(value) or len(x) < MIN_N:
        return Estimate(name, value, float("nan"), float("nan"), float("nan"))
    fn, (n_resamples, n_permutations) = _FUNCTIONS[name], counts
    if block is None:
        low, high = _bootstrap_ci(fn, x, y, n_resamples, confidence, ci_method, rng)
        p = _permutation_p(fn, x, y, n_permutations, rng)
    else:
        low, high = _block_ci(fn, x, y, block, n_resamples, confidence, rng)
        p = _shift_p(fn, x, y, value)
    return Estimate(name, value, low, high, p)


def _bootstrap_ci(fn: _Fn, x: np.ndarray, y: np.ndarray, n_resamples: int, confidence: float,
                  method: str, rng: np.random.Generator) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate resamples: reported as NaN below
        res = stats.bootstrap((x, y), fn, paired=True, vectorized=True, batch=250,
                              n_resamples=n_resamples, confidence_level=confidence,
                              method=method, rng=rng)
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    dist = np.asarray(res.bootstrap_distribution)
    if math.isnan(low) and np.ptp(dist) < 1e-12:  # every resample gave the same value
        low = high = float(dist[0])
    elif math.isnan(low) and np.isfinite(dist).all():
        # BCa is undefined when the observed value lies at the edge of the resamples (e.g. a
        # near-perfect rank correlation): the percentile interval of the same resamples
        low, high = _percentile_interval(dist, confidence)
    return max(low, -1.0), min(high, 1.0)


def _percentile_interval(resamples: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(resamples, [tail, 100.0 - tail])
    return float(low), float(high)


def _permutation_p(fn: _Fn, x: np.ndarray, y: np.ndarray, n_resamples: int,
                   rng: np.random.Generator) -> float:
    res = stats.permutation_test((x, y), fn, permutation_type="pairings", vectorized=True,
                                 n_resamples=n_resamples, batch=250, rng=rng)
    return float(res.pvalue)


def _block_ci(fn: _Fn, x: np.ndarray, y: np.ndarray, block: int, n_resamples: int,
              confidence: float, rng: np.random.Generator) -> tuple[float, float]:
    n = len(x)
    b = min(block, n)
    n_blocks = math.ceil(n / b)
    starts = rng.integers(0, n - b + 1, size=(n_resamples, n_blocks))
    idx = (starts[:, :, None] + np.arange(b)).reshape(n_resamples, -1)[:, :n]
    boot = np.concatenate([fn(x[chunk], y[chunk]) for chunk in np.array_split(
        idx, max(1, n_resamples // 250))])
    return _percentile_interval(boot, confidence)


def _shift_p(fn: _Fn, x: np.ndarray, y: np.ndarray, observed: float) -> float:
    n = len(x)
    shifted = np.stack([np.roll(y, s) for s in range(1, n)])
    null = fn(np.broadcast_to(x, shifted.shape), shifted)
    return float((1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / n)
