"""Eigenvalue trajectories with the DARTS-ES and DARTS-ADA events, and alpha heatmaps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nasbench_tools.plots.figure import new_axes
from nasbench_tools.stats.curves import AlphaWeights, EigenTrajectories

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_eigen_trajectories(traj: EigenTrajectories, *, ax: Axes | None = None) -> Axes:
    """lambda_max over epochs, one line per run coloured by method (abandoned epochs of a
    rollback faded); DARTS-ES stops as crosses, returned epochs as circles, DARTS-ADA rollbacks
    as arrows from the epoch where ES fired back to the epoch restored."""
    ax = new_axes(ax)
    methods = list(dict.fromkeys(traj.points["method"]))
    colors = {m: f"C{i}" for i, m in enumerate(methods)}
    labelled: set[str] = set()
    for run, part in traj.points.groupby("run", sort=False):
        method = str(part["method"].iloc[0])
        for final, seg in part.groupby("final"):
            ax.plot(seg["epoch"], seg["lambda_max"], "-o", ms=2, lw=0.9, color=colors[method],
                    alpha=0.9 if final else 0.3,
                    label=method if final and method not in labelled else None)
            if final:
                labelled.add(method)
        for ev in traj.events[traj.events["run"] == run].itertuples():
            _mark(ax, part, ev, colors[method])
    ax.set_xlabel("search epoch")
    ax.set_ylabel("dominant eigenvalue of the alpha-Hessian")
    if methods:
        ax.legend(fontsize=8)
    return ax


def _mark(ax: Axes, part, ev, color: str) -> None:  # type: ignore[no-untyped-def]
    at = part[part["epoch"] <= ev.epoch]
    y = float(at["lambda_max"].iloc[-1]) if len(at) else float("nan")
    if ev.kind == "es-stop":
        ax.plot([ev.epoch], [y], "x", ms=8, mew=2, color=color)
    elif ev.kind == "returned":
        ax.plot([ev.epoch], [y], "o", ms=8, mfc="none", mew=1.5, color=color)
    elif ev.kind == "rollback":
        ax.annotate("", xy=(ev.target, y), xytext=(ev.epoch, y),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 1.2})


def plot_alpha_heatmap(weights: AlphaWeights, *, ax: Axes | None = None) -> Axes:
    """Op weights per edge over epochs: rows are (edge, op), columns epochs, colour the weight
    (softmax share or sigmoid value) on the range the weights span (see the colour bar)."""
    ax = new_axes(ax, figsize=(7.0, 0.25 * weights.weights.shape[1] * weights.weights.shape[2]
                               + 1.5))
    n_epochs, n_edges, width = weights.weights.shape
    matrix = weights.weights.transpose(1, 2, 0).reshape(n_edges * width, n_epochs)
    labels = [f"{edge}: {ops[k]}" if k < len(ops) else ""
              for edge, ops in zip(weights.edges, weights.ops, strict=True) for k in range(width)]
    keep = [i for i, label in enumerate(labels) if label]
    shown = matrix[keep]
    # the data's own range: near-uniform softmax weights (0.30-0.36) would be one colour on 0-1
    extent = (weights.epochs[0] - 0.5, weights.epochs[-1] + 0.5, len(keep) - 0.5, -0.5)
    image = ax.imshow(shown, aspect="auto", interpolation="nearest", vmin=np.nanmin(shown),
                      vmax=np.nanmax(shown), cmap="viridis", extent=extent)
    ax.set_yticks(np.arange(len(keep)), [labels[i] for i in keep], fontsize=7)
    for row in range(width, len(keep), width):
        ax.axhline(row - 0.5, color="white", lw=0.8)
    ax.set_xlabel("search epoch")
    ax.set_title(f"{weights.run}: {weights.relaxation} op weights", fontsize=9)
    ax.figure.colorbar(image, ax=ax, fraction=0.04)
    return ax
