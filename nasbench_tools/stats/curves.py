"""Per-epoch data for pictures: mean curves with intervals over seeds, eigenvalue trajectories
with their DARTS-ES / DARTS-ADA events, alpha weights over epochs (data only; `plots` draws).

    runs = load_runs("traces/")
    regret = mean_curves(runs, "test_regret")                 # x = epoch
    anytime = mean_curves(runs, "test_regret", x="elapsed")   # x = search seconds

The interval of a mean over seeds is Student's t interval, mean ± t(n-1) · sd / sqrt(n): with
the three to five seeds a study has, a bootstrap over seeds would be too coarse to be useful.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.search.trace import SearchTrace
from nasbench_tools.stats.runs import ROLLBACK, RunSet

if TYPE_CHECKING:
    import pandas as pd

#: Points of the common time grid of anytime curves.
TIME_POINTS = 100
_X = ("epoch", "elapsed")


@dataclass(frozen=True)
class Curves:
    """``frame`` has one row per (``group``, ``x``): ``mean``, ``ci_low``, ``ci_high`` and the
    number of runs ``n``; ``quantity`` is the column averaged, ``x`` the axis (``epoch`` or
    ``elapsed`` seconds of search)."""

    quantity: str
    x: str
    frame: pd.DataFrame
    confidence: float = 0.95

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.frame["group"]))


def mean_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and t interval of the finite ``values`` (interval NaN for fewer than two)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    if v.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def _series(frame: pd.DataFrame, x: str) -> pd.DataFrame:
    """Rows that define the quantity over ``x`` for each run."""
    if x == "epoch":
        return frame[frame["final"]]
    return frame  # anytime: the latest answer in training order, abandoned epochs included


def mean_curves(runs: RunSet | pd.DataFrame, quantity: str, *, x: str = "epoch",
                by: str = "method", confidence: float = 0.95) -> Curves:
    """Mean of ``quantity`` (a column of `RunSet.epochs_frame`, or of the frame given) over
    the runs of each ``by``
    value at every epoch, or on a common grid of search seconds (``x="elapsed"``: each run's
    value at time t is that of its last epoch finished by t, held after its end)."""
    import pandas as pd

    frame = runs.epochs_frame() if isinstance(runs, RunSet) else runs
    if x not in _X:
        raise UnknownNameError("curve axis", x, _X)
    if quantity not in frame.columns or by not in frame.columns:
        missing = quantity if quantity not in frame.columns else by
        raise UnknownNameError("epoch quantity", missing, frame.columns)
    frame = _series(frame, x)
    rows = []
    for group, part in frame.groupby(by, sort=False):
        if x == "epoch":
            table = part.pivot_table(index="run", columns="epoch", values=quantity,
                                     aggfunc="last", dropna=False)
            grid, matrix = table.columns.to_numpy(), table.to_numpy()
        else:
            grid, matrix = _on_time_grid(part, quantity)
        for i, xv in enumerate(grid):
            mean, low, high = mean_interval(matrix[:, i], confidence)
            rows.append({"group": str(group), "x": float(xv), "mean": mean, "ci_low": low,
                         "ci_high": high, "n": int(np.isfinite(matrix[:, i]).sum())})
    return Curves(quantity=quantity, x=x, frame=pd.DataFrame(rows), confidence=confidence)


def _on_time_grid(part: pd.DataFrame, quantity: str) -> tuple[np.ndarray, np.ndarray]:
    grid = np.linspace(0.0, float(part["elapsed"].max()), TIME_POINTS)
    out = []
    for _, run in part.groupby("run", sort=False):
        t, v = run["elapsed"].to_numpy(), run[quantity].to_numpy(dtype=np.float64)
        pos = np.searchsorted(t, grid, side="right") - 1  # last epoch finished by each time
        out.append(np.where(pos >= 0, v[np.clip(pos, 0, None)], np.nan))
    return grid, np.array(out)


def param_free_share(runs: RunSet, *, cell: str = "normal", by: str = "method") -> Curves:
    """Share of parameter-free ops in the selected ``cell`` over epochs (mean over runs)."""
    if cell not in ("normal", "reduce"):
        raise UnknownNameError("cell", cell, ("normal", "reduce"))
    frame = runs.epochs_frame()
    n_edges = {r.name: sum(e.cell == cell or r.trace.space.shared for e in r.trace.space.edges)
               for r in runs.runs}
    column = f"param_free_{cell}"
    share = frame[column] / frame["run"].map(n_edges)
    return mean_curves(frame.assign(param_free_share=share), "param_free_share", by=by)


# -- eigenvalue trajectories and events -------------------------------------------------------
@dataclass(frozen=True)
class EigenTrajectories:
    """``points``: run, method, seed, epoch, iteration, final, lambda_max (evaluated epochs
    only); ``events``: run, kind (``es-stop``, ``returned``, ``rollback``), epoch, target."""

    points: pd.DataFrame
    events: pd.DataFrame


def eigen_trajectories(runs: RunSet) -> EigenTrajectories:
    import pandas as pd

    frame = runs.epochs_frame()
    points = frame[np.isfinite(frame["lambda_max"])][
        ["run", "method", "seed", "epoch", "iteration", "final", "lambda_max"]]
    per_run = runs.runs_frame()
    stops = dict(zip(per_run["run"], per_run["es_stop_epoch"].astype(int), strict=True))
    results = dict(zip(per_run["run"], per_run["result_epoch"].astype(int), strict=True))
    rows = []
    for run in runs.runs:
        stop, returned = int(stops[run.name]), int(results[run.name])
        if stop >= 0:
            rows.append({"run": run.name, "kind": "es-stop", "epoch": stop, "target": returned})
            rows.append({"run": run.name, "kind": "returned", "epoch": returned,
                         "target": returned})
        for r in run.trace.records:
            for m in ROLLBACK.finditer(r.events):
                rows.append({"run": run.name, "kind": "rollback", "epoch": r.epoch,
                             "target": int(m.group(1))})
    events = pd.DataFrame(rows, columns=["run", "kind", "epoch", "target"])
    return EigenTrajectories(points=points.reset_index(drop=True), events=events)


# -- alpha weights ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlphaWeights:
    """Op weights of one search over epochs: ``weights[epoch_row, edge, op]`` (NaN where an edge
    has fewer ops), with the epochs of the rows, edge and op labels and the relaxation."""

    run: str
    epochs: np.ndarray
    weights: np.ndarray
    edges: tuple[str, ...]
    ops: tuple[tuple[str, ...], ...]
    relaxation: str


def relaxation_of(method: str) -> str:
    """``sigmoid`` for the FairDARTS family, else ``softmax``."""
    return "sigmoid" if method.startswith("fairdarts") else "softmax"


def alpha_weights(trace: SearchTrace, *, relaxation: str | None = None,
                  run: str = "") -> AlphaWeights:
    """The relaxed op weights of the returned trajectory of ``trace`` at every epoch."""
    relax = relaxation or relaxation_of(trace.method)
    if relax not in ("softmax", "sigmoid"):
        raise UnknownNameError("relaxation", relax, ("sigmoid", "softmax"))
    latest = {r.epoch: r for r in trace.records}
    epochs = np.array(sorted(latest))
    edges = trace.space.edges
    width = max(len(e.ops) for e in edges)
    out = np.full((len(epochs), len(edges), width), np.nan)
    for i, ep in enumerate(epochs):
        flat, start = np.asarray(latest[ep].alphas, dtype=np.float64), 0
        if flat.size != sum(len(e.ops) for e in edges):
            raise ConfigError(f"trace of {trace.method!r} has {flat.size} alphas at epoch {ep}; "
                              f"its space {trace.space.name!r} needs "
                              f"{sum(len(e.ops) for e in edges)}")
        for j, e in enumerate(edges):
            a = flat[start:start + len(e.ops)]
            start += len(e.ops)
            out[i, j, :len(a)] = (1 / (1 + np.exp(-a)) if relax == "sigmoid"
                                  else np.exp(a - a.max()) / np.exp(a - a.max()).sum())
    labels = tuple(f"{e.cell} {e.source}->{e.node}" for e in edges)
    return AlphaWeights(run=run or trace.method, epochs=epochs, weights=out, edges=labels,
                        ops=tuple(e.ops for e in edges), relaxation=relax)
