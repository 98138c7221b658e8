"""Mean curves over seeds with their intervals: regret (per epoch or anytime), the
architecture-overfitting picture, the share of parameter-free ops."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasbench_tools.plots.figure import new_axes
from nasbench_tools.stats.curves import Curves

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

_XLABEL = {"epoch": "search epoch", "elapsed": "search wall time (s)"}


def plot_curves(curves: Curves, *, ax: Axes | None = None, ylabel: str | None = None,
                linestyle: str = "-", label_suffix: str = "", colors: dict[str, str] | None = None,
                interval: bool = True) -> Axes:
    """One line per group (method) with its shaded interval (``interval=False``: the mean
    alone, e.g. for a share of seeds); n of runs in the legend."""
    ax = new_axes(ax)
    for i, group in enumerate(curves.groups):
        part = curves.frame[curves.frame["group"] == group]
        color = (colors or {}).get(group, f"C{i}")
        n = int(part["n"].max()) if len(part) else 0
        ax.plot(part["x"], part["mean"], color=color, ls=linestyle,
                label=f"{group}{label_suffix} (n={n})")
        if interval:
            ax.fill_between(part["x"], part["ci_low"], part["ci_high"], color=color,
                            alpha=0.18, lw=0)
    ax.set_xlabel(_XLABEL.get(curves.x, curves.x))
    ax.set_ylabel(ylabel or curves.quantity)
    ax.legend(fontsize=8)
    return ax


def plot_runs(frame: pd.DataFrame, quantity: str, *, by: str = "method", x: str = "epoch",
              ax: Axes | None = None, ylabel: str | None = None, linestyle: str = "-",
              label_suffix: str = "") -> Axes:
    """Every run of an epochs frame as its own thin line, coloured by ``by`` (for a handful of
    seeds, where an interval over them says less than the runs themselves)."""
    ax = new_axes(ax)
    groups = list(dict.fromkeys(frame[by]))
    for run, part in frame.groupby("run", sort=False):
        i = groups.index(part[by].iloc[0])
        ax.plot(part[x], part[quantity], color=f"C{i}", ls=linestyle, lw=0.9, alpha=0.8,
                label=f"{part[by].iloc[0]}{label_suffix}" if run == _first_run(frame, by, i,
                                                                               groups) else None)
    ax.set_xlabel(_XLABEL.get(x, x))
    ax.set_ylabel(ylabel or quantity)
    ax.legend(fontsize=8)
    return ax


def _first_run(frame: pd.DataFrame, by: str, i: int, groups: list[str]) -> str:
    return str(frame[frame[by] == groups[i]]["run"].iloc[0])


def plot_overfitting(oneshot: Curves, test: Curves, *, ax: Axes | None = None) -> Axes:
    """One-shot error of the supernet (dashed) and table test error of the architecture it
    selects (solid) over epochs, per method: a falling dashed and rising solid line is the
    architecture overfitting the search shows when it collapses."""
    ax = new_axes(ax)
    colors = {g: f"C{i}" for i, g in enumerate(dict.fromkeys((*test.groups, *oneshot.groups)))}
    plot_curves(test, ax=ax, colors=colors, label_suffix=": table test error")
    twin = ax.twinx()
    plot_curves(oneshot, ax=twin, colors=colors, linestyle="--",
                label_suffix=": one-shot error")
    ax.set_ylabel("table test error of the selected arch (%)")
    twin.set_ylabel("one-shot error on split B (%, dashed)")
    handles = ax.get_legend_handles_labels()
    twin_handles = twin.get_legend_handles_labels()
    ax.legend(handles[0] + twin_handles[0], handles[1] + twin_handles[1], fontsize=7)
    legend = twin.get_legend()
    if legend is not None:
        legend.remove()
    return ax


def plot_param_free_share(curves: Curves, *, ax: Axes | None = None) -> Axes:
    """Share of parameter-free ops (none, skip, pooling) in the selected cell over epochs."""
    ax = plot_curves(curves, ax=ax, ylabel="parameter-free share of the selected cell")
    ax.set_ylim(-0.03, 1.03)
    return ax
