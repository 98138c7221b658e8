"""The report's figures: which data each shows (from `nasbench_tools.stats`) and where it is
saved (PNG and PDF, through `nasbench_tools.plots`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nasbench_tools import plots
from nasbench_tools.report.words import name
from nasbench_tools.stats.correlation import CorrelationFamily
from nasbench_tools.stats.curves import (
    alpha_weights,
    eigen_trajectories,
    mean_curves,
    param_free_share,
)
from nasbench_tools.stats.pairs import ACROSS_PAIRS, STRENGTH, select, strength_frame
from nasbench_tools.stats.runs import RunSet


@dataclass(frozen=True)
class FigureEntry:
    """A saved figure: file stem (in the report folder), title and caption."""

    stem: str
    title: str
    caption: str


def rows_of(frame, label: str):  # type: ignore[no-untyped-def]
    """The rows of a runs frame that a correlation's group label (``method``, ``all``,
    ``group: method``) names."""
    if ": " in label:
        group, label = label.split(": ", 1)
        frame = frame[frame["group"] == group]
    return frame if label == "all" else frame[frame["method"] == label]


Drawer = Callable[[RunSet, CorrelationFamily, Path], Iterator[FigureEntry]]


def _regret(runs: RunSet, family: CorrelationFamily, out: Path) -> Iterator[FigureEntry]:
    fig, axes = plots.new_figure(1, 2, figsize=(10.0, 3.8))
    plots.plot_curves(mean_curves(runs, "test_regret"), ax=axes[0, 0],
                      ylabel="test regret of the selected arch (points)")
    plots.plot_curves(mean_curves(runs, "test_regret", x="elapsed"), ax=axes[0, 1],
                      ylabel="anytime test regret (points)")
    plots.save_figure(fig, out / "regret")
    yield FigureEntry("regret", "Regret curves",
                      "Test regret of the architecture each search selects, mean and 95 % t "
                      "interval over seeds, against the epoch (left) and against the search's "
                      "wall time without the analysis (right: anytime regret).")


def _overfitting(runs: RunSet, family: CorrelationFamily, out: Path) -> Iterator[FigureEntry]:
    ax = plots.plot_overfitting(mean_curves(runs, "oneshot_err"), mean_curves(runs, "test_err"))
    plots.save_figure(ax.figure, out / "overfitting")
    yield FigureEntry("overfitting", "Architecture overfitting",
                      "One-shot error of the supernet on split B (dashed, right axis) and table "
                      "test error of the architecture it selects (solid), mean over seeds.")


def _lambda(runs: RunSet, family: CorrelationFamily, out: Path) -> Iterator[FigureEntry]:
    traj = eigen_trajectories(runs)
    if traj.points.empty:
        return
    ax = plots.plot_eigen_trajectories(traj)
    plots.save_figure(ax.figure, out / "lambda")
    yield FigureEntry("lambda", "Dominant eigenvalue",
                      "lambda_max of the alpha-Hessian at every evaluation, one line per run; "
                      "crosses: DARTS-ES stops, circles: returned epochs, arrows: DARTS-ADA "
                      "rollbacks (faded lines: abandoned epochs).")


def _scatter(runs: RunSet, family: CorrelationFamily, out: Path) -> Iterator[FigureEntry]:
    frame = runs.runs_frame()
    main = select(family, level="across")
    if not main:
        return
    group = main[0].group
    results = [r for r in main if r.group == group and (r.x, r.y) in ACROSS_PAIRS and r.n >= 3]
    if not results:
        return
    part = rows_of(frame, group)
    fig, axes = plots.new_figure(2, 3, figsize=(14.0, 8.0))
    for ax, result in zip(axes.ravel(), results, strict=False):
        plots.plot_correlation(part[result.x], part[result.y], result, hue=list(part["method"]),
                               ax=ax)
        ax.set_xlabel(name(result.x), fontsize=8)
        ax.set_ylabel(name(result.y), fontsize=8)
    for ax in axes.ravel()[len(results):]:
        ax.set_visible(False)
    plots.save_figure(fig, out / "lambda-scatter")
    yield FigureEntry("lambda-scatter", "lambda_max against the discretisation gap and "
                      "generalisation", f"One point per run ({group}); black: least-squares "
                      "line; the legend gives each statistic with its 95 % CI and permutation p.")


def _alpha(runs: RunSet, family: CorrelationFamily, out: Path) -> Iterator[FigureEntry]:
    for method in runs.methods:
        run = next(r for r in runs.runs if r.trace.method == method)
        ax = plots.plot_alpha_heatmap(alpha_weights(run.trace, run=run.name))
        stem = f"alpha-{run.name}".replace("/", "-")
        plots.save_figure(ax.figure, out / stem)
        yield FigureEntry(stem, f"Op weights of {run.name}",
                          "Relaxed op weights of every edge over the epochs of one search.")


def _regularisation(runs: RunSet, family: CorrelationFamily, out: Path
                    ) -> Iterator[FigureEntry]:
    frame = strength_frame(runs)
    for method, column in STRENGTH.items():
        part = frame[frame["method"] == method]
        values = part[column]
        if len(part) < 2 or values.nunique() < 2:
            continue
        axes = plots.plot_regularisation(values, part["lambda_avg"], part["test_err"],
                                         xlabel=name(column))
        plots.save_figure(axes[0].figure, out / f"regularisation-{method}")
        yield FigureEntry(f"regularisation-{method}", f"Regularisation strength ({method})",
                          "One point per run: strength against lambda_max at the end and "
                          "against the table test error of the returned architecture.")


def _param_free(runs: RunSet, family: CorrelationFamily, out: Path) -> Iterator[FigureEntry]:
    ax = plots.plot_param_free_share(param_free_share(runs))
    plots.save_figure(ax.figure, out / "param-free-share")
    yield FigureEntry("param-free-share", "Parameter-free ops in the selected normal cell",
                      "Share of none / skip / pooling ops on the normal cell's edges of the "
                      "selected architecture, mean and 95 % t interval over seeds.")


DRAWERS: tuple[Drawer, ...] = (_regret, _overfitting, _lambda, _scatter, _param_free,
                               _regularisation, _alpha)


def draw_figures(runs: RunSet, family: CorrelationFamily, out: Path,
                 progress: Callable[[str], None] | None = None) -> list[FigureEntry]:
    entries = []
    for drawer in DRAWERS:
        for entry in drawer(runs, family, out):
            entries.append(entry)
            if progress is not None:
                progress(f"figure {entry.stem}")
    return entries
