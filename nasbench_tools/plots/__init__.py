"""Pictures of tables and searches: the only part of the package that imports matplotlib.

Every function draws data that `nasbench_tools.stats` (or a trace) computed, on the ``ax`` it is
given (a new figure when None), and returns the Axes; none reads files or computes statistics.
Saving is the caller's: `save_figure` writes PNG and PDF.

    from nasbench_tools.stats import load_runs, mean_curves
    from nasbench_tools.plots import plot_curves, save_figure
    ax = plot_curves(mean_curves(load_runs("traces/"), "test_regret"))
    save_figure(ax.figure, "figures/regret")
"""

from nasbench_tools.plots.budget import plot_budget_probe
from nasbench_tools.plots.convergence import plot_convergence
from nasbench_tools.plots.curves import (
    plot_curves,
    plot_overfitting,
    plot_param_free_share,
    plot_runs,
)
from nasbench_tools.plots.eigen import plot_alpha_heatmap, plot_eigen_trajectories
from nasbench_tools.plots.figure import close_figure, new_axes, new_figure, save_figure
from nasbench_tools.plots.scatter import plot_correlation, plot_regularisation
from nasbench_tools.plots.trace import plot_trace

__all__ = [
           "close_figure",
           "new_axes",
           "new_figure",
           "plot_alpha_heatmap",
           "plot_budget_probe",
           "plot_convergence",
           "plot_correlation",
           "plot_curves",
           "plot_eigen_trajectories",
           "plot_overfitting",
           "plot_param_free_share",
           "plot_regularisation",
    "plot_runs",
           "plot_trace",
           "save_figure",
]
