"""A budget probe in two panels: the longer runs' curves with the table's errors, and the table's
error against the longer run's, coloured by the number of parameter-free ops.

    from nasbench_tools.plots import plot_budget_probe, save_figure
    left, right = plot_budget_probe(probe)      # a `nasbench_tools.stats.ProbeResult`
    save_figure(left.figure, "figures/budget-probe-l8", formats=("png",), dpi=120)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nasbench_tools.stats.budget import ProbeResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_budget_probe(probe: ProbeResult, *, axes: Sequence[Axes] | None = None
                      ) -> Sequence[Axes]:
    """Left: every probed arch's test-error curve over the longer budget, with the table's
    final error as a dot at the table's last epoch; right: the table's error against the longer
    run's, one dot per arch, labelled by its id. Draws on ``axes`` (two Axes) or a new figure."""
    from matplotlib import colormaps

    if axes is None:
        from nasbench_tools.plots.figure import new_figure

        _, grid = new_figure(1, 2, figsize=(9.0, 3.8))
        axes = list(grid[0])
    left, right = axes[0], axes[1]
    viridis, k_max = colormaps["viridis"], max(1, int(np.max(probe.k_free)))

    def colour(k: int) -> tuple[float, float, float, float]:
        return viridis(k / k_max)

    for a, k, curve, err in zip(probe.ids, probe.k_free, probe.curves, probe.table_err,
                                strict=True):
        left.plot(np.arange(1, curve.size + 1), curve, color=colour(k), lw=1)
        left.plot(probe.table_epochs, err, "o", color=colour(k), ms=4)
        right.plot(curve[-1], err, "o", color=colour(k), ms=6)
        right.annotate(str(a), (curve[-1], err), textcoords="offset points", xytext=(4, 2),
                       fontsize=7)
    for k in np.unique(probe.k_free):
        right.plot([], [], "o", color=colour(k), label=f"{k} parameter-free ops")
    left.set(xlabel="epoch", ylabel="test error (%)", ylim=(None, min(90.0, left.get_ylim()[1])),
             title=f"{probe.epochs}-epoch runs (dots: the table after {probe.table_epochs})")
    right.set(xlabel=f"test error after {probe.epochs} epochs (%)",
              ylabel=f"table's test error after {probe.table_epochs} epochs (%)",
              title=f"seed {probe.seed}, {len(probe.ids)} archs")
    right.legend(fontsize=7, loc="lower right")
    return [left, right]
