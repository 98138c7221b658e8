"""The default correlations of a set of searches, at three levels, each family Holm-adjusted.

- ``across``: one point per run (end-of-search eigenvalue against what the run returned), for
  all runs of a group together and, when there are several methods, per method;
- ``within``: one point per evaluated epoch of one run (eigenvalue against that epoch's gap,
  error or regret); epochs are autocorrelated, so intervals come from a moving-block bootstrap
  and p-values from circular shifts (`nasbench_tools.stats.correlation`);
- ``within-mean``: one point per run, the run's within-run statistic; its mean over the runs
  of a method, with a bootstrap interval over runs and a sign-flip permutation p-value (runs
  are independent, so this is the level to read for "does it hold within runs").

Regularisation strength (log10 weight decay for R-DARTS(L2) and DARTS-ADA, drop-path for
R-DARTS(DP); the columns of `strength_frame`) is correlated with the eigenvalue and the test
error across the runs of each such method that has at least two values.

    family = default_correlations(load_runs("traces/"))
    family.to_frame()    # x, y, level, method, run, statistic, value, ci_low, ci_high, ...
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from nasbench_tools.stats.correlation import (
    MIN_N,
    STATISTICS,
    CorrelationFamily,
    CorrelationResult,
    Estimate,
    adjust,
    correlate,
)
from nasbench_tools.stats.runs import RunSet

if TYPE_CHECKING:
    import pandas as pd

#: Across runs: the end-of-search eigenvalue (local average) against ...
ACROSS_PAIRS: tuple[tuple[str, str], ...] = (
    ("lambda_avg", "gap_loss_avg"), ("lambda_avg", "gap_err_avg"), ("lambda_avg", "test_err"),
    ("lambda_avg", "test_regret"), ("lambda_avg", "gen_gap"), ("lambda_avg", "oneshot_err"),
)
#: Within a run, over its evaluated epochs.
WITHIN_PAIRS: tuple[tuple[str, str], ...] = (
    ("lambda_max", "gap_loss"), ("lambda_max", "gap_err"), ("lambda_max", "test_err"),
    ("lambda_max", "test_regret"), ("lambda_max", "gen_gap"), ("lambda_max", "oneshot_err"),
)
#: Methods whose regularisation strength varies, and the per-run column that measures it.
STRENGTH = {"rdarts-l2": "log10_weight_decay", "darts-ada": "log10_weight_decay",
            "rdarts-dp": "drop_path"}


def strength_frame(runs: RunSet) -> pd.DataFrame:
    """`RunSet.runs_frame` with every `STRENGTH` column: ``log10_weight_decay`` (NaN where the
    weight decay is 0) beside ``drop_path``; what the correlations and the report's
    regularisation figures both read."""
    frame = runs.runs_frame()
    frame["log10_weight_decay"] = np.log10(frame["weight_decay"].where(frame["weight_decay"] > 0))
    return frame


def block_length(n: int) -> int:
    """Moving-block length for ``n`` consecutive epochs: about n^(1/3), at least 2."""
    return max(2, round(n ** (1 / 3)))


def across_correlations(runs: RunSet, *, n_resamples: int = 1999, n_permutations: int = 9999,
                        seed: int = 0) -> list[CorrelationResult]:
    frame = strength_frame(runs)
    out = []
    for part, label in _groups(frame):
        for x, y in ACROSS_PAIRS:
            if not np.isfinite(part[x]).any():
                continue  # no run of the group computed this quantity (e.g. no Hessian)
            out.append(correlate(part[x], part[y], x_name=x, y_name=y, group=label,
                                 n_resamples=n_resamples, n_permutations=n_permutations,
                                 seed=seed))
    for method, column in STRENGTH.items():
        part = frame[frame["method"] == method]
        if len(part) >= MIN_N and part[column].nunique() >= 2:
            for y in ("lambda_avg", "test_err"):
                out.append(correlate(part[column], part[y], x_name=column, y_name=y,
                                     group=method, n_resamples=n_resamples,
                                     n_permutations=n_permutations, seed=seed))
    return out


def _groups(frame: pd.DataFrame) -> Iterator[tuple[pd.DataFrame, str]]:
    """(rows, label): every group's runs together, then per method when a group has several
    methods with enough runs."""
    for group, part in frame.groupby("group", sort=False):
        prefix = "" if frame["group"].nunique() == 1 else f"{group}: "
        methods = part["method"].unique()
        yield part, prefix + ("all" if len(methods) > 1 else str(methods[0]))
        if len(methods) > 1:
            for method, sub in part.groupby("method", sort=False):
                if len(sub) >= MIN_N:
                    yield sub, prefix + str(method)


def within_correlations(runs: RunSet, *, n_resamples: int = 999, seed: int = 0
                        ) -> list[CorrelationResult]:
    frame = runs.epochs_frame()
    frame = frame[frame["final"] & np.isfinite(frame["lambda_max"])]
    out = []
    for run in runs.runs:
        part = frame[frame["run"] == run.name]
        if part.empty:
            continue  # the run computed no eigenvalue
        b = block_length(len(part))
        for x, y in WITHIN_PAIRS:
            out.append(correlate(part[x], part[y], x_name=x, y_name=y, level="within",
                                 group=_label(runs, run.group, run.trace.method), run=run.name,
                                 block=b, n_resamples=n_resamples, seed=seed))
    return out


def _label(runs: RunSet, group: str, method: str) -> str:
    return method if len(runs.groups) == 1 else f"{group}: {method}"


def within_means(results: Sequence[CorrelationResult], *, n_resamples: int = 1999,
                 confidence: float = 0.95, seed: int = 0) -> list[CorrelationResult]:
    """For each (method, x, y): the mean over runs of the within-run statistics, with a
    percentile bootstrap interval over runs and a sign-flip permutation p-value."""
    keys = list(dict.fromkeys((r.group, r.x, r.y) for r in results))
    out = []
    for group, x, y in keys:
        mine = [r for r in results if (r.group, r.x, r.y) == (group, x, y)]
        estimates = []
        for name in STATISTICS:
            values = np.array([r[name].value for r in mine])
            estimates.append(mean_estimate(name, values[np.isfinite(values)], n_resamples,
                                           confidence, seed))
        n = int(sum(math.isfinite(r[STATISTICS[1]].value) for r in mine))
        out.append(CorrelationResult(
            x=x, y=y, n=n, estimates=tuple(estimates), level="within-mean", group=group,
            ci_method=f"bootstrap over runs (percentile, {n_resamples} resamples)",
            p_method="sign-flip permutation over runs (exact when 2^n is fewer)",
            confidence=confidence))
    return out


def mean_estimate(name: str, values: np.ndarray, n_resamples: int, confidence: float,
                  seed: int) -> Estimate:
    """The mean of independent ``values`` (one per run) with a percentile bootstrap interval
    and a two-sided sign-flip permutation p-value (exact when 2^n is fewer than
    ``n_resamples``); NaN interval and p below 3 values."""
    mean = float(values.mean()) if values.size else float("nan")
    if values.size < 3:
        return Estimate(name, mean, float("nan"), float("nan"), float("nan"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = stats.permutation_test((values,), _mean, permutation_type="samples",
                                   vectorized=True, n_resamples=n_resamples, rng=seed).pvalue
        if np.ptp(values) == 0:  # every run gave the same value: the interval is that value
            return Estimate(name, mean, mean, mean, float(p))
        ci = stats.bootstrap((values,), np.mean, n_resamples=n_resamples, method="percentile",
                             confidence_level=confidence, rng=seed).confidence_interval
    return Estimate(name, mean, float(ci.low), float(ci.high), float(p))


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.mean(x, axis=axis))


def default_correlations(runs: RunSet, *, n_resamples: int = 1999, n_permutations: int = 9999,
                         within_resamples: int = 999, seed: int = 0) -> CorrelationFamily:
    """Every default pair at every level; Holm's adjustment within each family: one level and
    one statistic (the three statistics test the same association, so they are not counted as
    three tests)."""
    across = adjust(across_correlations(runs, n_resamples=n_resamples,
                                        n_permutations=n_permutations, seed=seed)).results
    within = adjust(within_correlations(runs, n_resamples=within_resamples, seed=seed)).results
    means = adjust(within_means(within, n_resamples=n_permutations, seed=seed)).results
    return CorrelationFamily(tuple(across) + tuple(means) + tuple(within))


def select(family: CorrelationFamily, *, level: str | None = None, group: str | None = None,
           x: str | None = None, y: str | None = None) -> list[CorrelationResult]:
    """The results of ``family`` matching every given field."""
    return [r for r in family.results
            if (level is None or r.level == level) and (group is None or r.group == group)
            and (x is None or r.x == x) and (y is None or r.y == y)]

