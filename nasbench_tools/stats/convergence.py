"""Convergence of optimisers on test functions: quartile curves of best-so-far − f* over
seeds, one row per run, and a per-method summary (numpy / pandas only; `plots` draws).

    runs = [run_method("schwefel", 5, m, 5000, s) for m in ("adam-r0.1", "cma-es")
            for s in range(10)]
    results = results_frame(runs, tolerance=1.0)    # one row per run
    method_summary(results)                          # success rate, median best − f*
    convergence_curves(runs).frame                   # median and quartiles per evaluation

Success means ``best_value − f* < tolerance`` (default 1.0). The tolerance separates "found
the global basin in every coordinate" from not, because both functions are sums of one
function per coordinate: a point whose coordinates all lie in the global basin is within the
tolerance once it is near the bottom, while one coordinate left in any other basin costs at
least that basin's excess, 14.1 on Styblinski-Tang (the minimum at +2.75 against -2.90) and
118 on Schwefel (the best local minimum that is not global), far above 1.0 either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nasbench_tools.exceptions import ConfigError

if TYPE_CHECKING:
    from nasbench_tools.synthetic.optimisers import OptimiserRun

#: Most evaluation points kept per curve (log-spaced from 1 to the budget).
CURVE_POINTS = 200

RESULT_COLUMNS = ("function", "dim", "method", "seed", "evals", "best_value", "final_value",
                  "optimum_value", "regret", "final_regret", "distance_to_optimum", "success",
                  "local_steps", "global_steps", "accepted")


@dataclass(frozen=True)
class ConvergenceCurves:
    """``frame``: one row per (``method``, ``evals``) with ``median``, ``q25``, ``q75`` of
    best-so-far − f* over the ``n`` seeds after ``evals`` evaluations."""

    function: str
    dim: int
    budget: int
    frame: pd.DataFrame

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.frame["method"]))


def _one_problem(runs: Sequence[OptimiserRun]) -> tuple[str, int, int]:
    if not runs:
        raise ConfigError("no runs given; need at least one run")
    problems = sorted({(r.function, r.dim, r.evals) for r in runs})
    if len(problems) > 1:
        raise ConfigError(f"runs of several (function, dim, budget) {problems}; allowed: runs "
                          "of one function, dimension and budget")
    return problems[0]


def evaluation_grid(budget: int, points: int = CURVE_POINTS) -> np.ndarray:
    """At most ``points`` evaluation counts from 1 to ``budget``, log-spaced, both ends kept."""
    if points < 2:
        raise ConfigError(f"points={points} is not allowed; use an integer >= 2")
    return np.unique(np.geomspace(1, budget, points).round().astype(np.int64))


def convergence_curves(runs: Sequence[OptimiserRun], *, points: int = CURVE_POINTS
                       ) -> ConvergenceCurves:
    """Median and quartiles over seeds of best-so-far − f* per method, on `evaluation_grid`."""
    function, dim, budget = _one_problem(runs)
    grid = evaluation_grid(budget, points)
    frames = []
    for method in sorted({r.method for r in runs}):
        regret = np.stack([r.best_so_far[grid - 1] - r.optimum_value
                           for r in runs if r.method == method])
        q25, median, q75 = np.quantile(regret, [0.25, 0.5, 0.75], axis=0)
        frames.append(pd.DataFrame({"function": function, "dim": dim, "method": method,
                                    "evals": grid, "median": median, "q25": q25, "q75": q75,
                                    "n": regret.shape[0]}))
    return ConvergenceCurves(function, dim, budget, pd.concat(frames, ignore_index=True))


def results_frame(runs: Sequence[OptimiserRun], *, tolerance: float = 1.0) -> pd.DataFrame:
    """One row per run (`RESULT_COLUMNS`), sorted by method then seed; ``success`` is
    ``best_value − f* < tolerance`` (see the module's note on the default 1.0)."""
    if not tolerance > 0:
        raise ConfigError(f"tolerance {tolerance} is not allowed; use a number > 0")
    _one_problem(runs)
    rows = [{"function": r.function, "dim": r.dim, "method": r.method, "seed": r.seed,
             "evals": r.evals, "best_value": r.best_value, "final_value": r.final_value,
             "optimum_value": r.optimum_value, "regret": r.best_value - r.optimum_value,
             "final_regret": r.final_value - r.optimum_value,
             "distance_to_optimum": r.distance_to_optimum,
             "success": bool(r.best_value - r.optimum_value < tolerance),
             "local_steps": r.local_steps, "global_steps": r.global_steps,
             "accepted": r.accepted} for r in runs]
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    return frame.sort_values(["method", "seed"], ignore_index=True)


def method_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per method (sorted by name): runs, successes, success rate, median and quartiles of
    best − f*, median final − f*, median distance to x*, median accepted global steps."""
    missing = sorted(set(RESULT_COLUMNS) - set(results.columns))
    if missing:
        raise ConfigError(f"results lack the columns {missing}; allowed: a results_frame")
    grouped = results.groupby("method", sort=True)
    summary = pd.DataFrame({
        "runs": grouped.size(),
        "successes": grouped["success"].sum().astype(int),
        "success_rate": grouped["success"].mean(),
        "median_regret": grouped["regret"].median(),
        "q25_regret": grouped["regret"].quantile(0.25),
        "q75_regret": grouped["regret"].quantile(0.75),
        "median_final_regret": grouped["final_regret"].median(),
        "median_distance": grouped["distance_to_optimum"].median(),
        "median_accepted": grouped["accepted"].median(),
    })
    return summary.reset_index()
