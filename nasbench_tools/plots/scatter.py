"""One point per run: an eigenvalue against a quantity with the fitted line and the statistics,
and the regularisation strength of an R-DARTS grid against the eigenvalue and the test error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from nasbench_tools.plots.figure import new_axes
from nasbench_tools.stats.correlation import CorrelationResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_correlation(x: npt.ArrayLike, y: npt.ArrayLike,
                     result: CorrelationResult, *, hue: Sequence[str] | None = None,
                     ax: Axes | None = None) -> Axes:
    """Scatter of the points ``result`` was computed on (coloured by ``hue``, e.g. method), the
    least-squares line and, in the legend, each statistic with its interval and p-value."""
    ax = new_axes(ax, figsize=(5.0, 3.8))
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    labels = list(hue) if hue is not None else [result.group] * len(xs)
    for i, name in enumerate(dict.fromkeys(labels)):
        mask = np.array([label == name for label in labels])
        ax.scatter(xs[mask], ys[mask], s=18, color=f"C{i}", label=name)
    if np.isfinite(result.slope):
        ok = np.isfinite(xs) & np.isfinite(ys)
        grid = np.linspace(xs[ok].min(), xs[ok].max(), 2)
        ax.plot(grid, result.intercept + result.slope * grid, color="black", lw=1,
                label=f"least squares, slope {result.slope:.3g}")
    for e in result.estimates:
        ax.plot([], [], " ", label=f"{e.statistic} {e.value:.2f} [{e.ci_low:.2f}, "
                                   f"{e.ci_high:.2f}], p={e.p_value:.3g}")
    ax.set_xlabel(result.x)
    ax.set_ylabel(result.y)
    ax.set_title(f"{result.group}: n={result.n}", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def plot_regularisation(strength: npt.ArrayLike, lam: npt.ArrayLike, test_err: npt.ArrayLike,
                        *, xlabel: str = "regularisation strength",
                        axes: Sequence[Axes] | None = None) -> Sequence[Axes]:
    """Two panels, one point per run: strength against the end-of-search eigenvalue and
    against the table test error of the returned architecture."""
    if axes is None:
        from nasbench_tools.plots.figure import new_figure

        _, grid = new_figure(1, 2, figsize=(8.0, 3.4))
        axes = list(grid[0])
    for ax, values, label in ((axes[0], lam, "lambda_max (mean of the last evaluations)"),
                              (axes[1], test_err, "table test error of the returned arch (%)")):
        ax.scatter(np.asarray(strength, dtype=float), np.asarray(values, dtype=float), s=18,
                   color="C0")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
    return axes
