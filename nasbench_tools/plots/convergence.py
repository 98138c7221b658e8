"""Convergence of optimisers on a test function: best-so-far − f* against evaluations.

    from nasbench_tools.stats.convergence import convergence_curves
    ax = plot_convergence(convergence_curves(runs))
    save_figure(ax.figure, "figures/bench-global/convergence")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nasbench_tools.plots.figure import new_axes
from nasbench_tools.stats.convergence import ConvergenceCurves

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Values below this are drawn at it, so that a median of exactly 0 stays on the log axis.
FLOOR = 1e-8

_SUFFIX = "+dscd"


def _colors(methods: tuple[str, ...]) -> dict[str, str]:
    """One colour per method without ``+dscd``: an Adam variant and its DSCD twin share it."""
    bases = dict.fromkeys(m.removesuffix(_SUFFIX) for m in methods)
    return {base: f"C{i % 10}" for i, base in enumerate(bases)}


def plot_convergence(curves: ConvergenceCurves, *, ax: Axes | None = None) -> Axes:
    """Median (line) and quartiles (band) over seeds per method, log-log; a method with DSCD
    is dashed in the colour of the same method without it (solid)."""
    ax = new_axes(ax, figsize=(8.0, 4.6))
    colors = _colors(curves.methods)
    for method in curves.methods:
        part = curves.frame[curves.frame["method"] == method]
        color = colors[method.removesuffix(_SUFFIX)]
        dashed = method.endswith(_SUFFIX)
        x = part["evals"].to_numpy()
        ax.plot(x, np.maximum(part["median"].to_numpy(), FLOOR), color=color,
                ls="--" if dashed else "-", lw=1.4,
                label=f"{method} (n={int(part['n'].max())})")
        ax.fill_between(x, np.maximum(part["q25"].to_numpy(), FLOOR),
                        np.maximum(part["q75"].to_numpy(), FLOOR), color=color,
                        alpha=0.08 if dashed else 0.14, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("function evaluations")
    ax.set_ylabel(f"best so far − f* (floored at {FLOOR:g})")
    ax.set_title(f"{curves.function}, d = {curves.dim}: median and quartiles over seeds",
                 fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return ax
