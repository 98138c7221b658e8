"""Plots: only `nasbench_tools.plots` imports matplotlib; every plot function draws under Agg
from data values alone (smoke tests: they run, return Axes, and put the data on them)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from conftest import synthetic_t81_data, synthetic_trace

from nasbench_tools import plots
from nasbench_tools.stats import (
    alpha_weights,
    correlate,
    eigen_trajectories,
    load_runs,
    mean_curves,
    param_free_share,
)
from nasbench_tools.table import Benchmark

matplotlib.use("Agg")

PACKAGE = Path(__file__).resolve().parents[1] / "nasbench_tools"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_plots_package_imports_matplotlib_or_seaborn() -> None:
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if "plots" not in p.relative_to(PACKAGE).parts
                 and _imported_modules(p) & {"matplotlib", "seaborn"}]
    assert offenders == []
    assert any("matplotlib" in _imported_modules(p) for p in (PACKAGE / "plots").rglob("*.py"))


def test_stats_and_the_package_root_load_without_matplotlib_or_torch() -> None:
    code = ("import sys, nasbench_tools, nasbench_tools.stats, nasbench_tools.report.words; "
            "print(sorted(m for m in ('matplotlib', 'torch', 'seaborn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture
def runs(tmp_path: Path):  # type: ignore[no-untyped-def]
    bench = Benchmark.from_arrays(synthetic_t81_data().space, np.linspace(10, 30, 81))
    rng = np.random.default_rng(0)
    for seed, method in enumerate(["darts", "darts", "darts-es", "darts-es"]):
        trace = synthetic_trace(bench, method=method, seed=seed, epochs=6,
                                archs=rng.integers(0, 81, 6), every=2)
        trace.save(tmp_path / f"{method}-s{seed}.h5")
    return load_runs(tmp_path)


def _lines(ax) -> int:  # type: ignore[no-untyped-def]
    return len([line for line in ax.get_lines() if len(line.get_xdata())])


def test_curve_plots(runs) -> None:  # type: ignore[no-untyped-def]
    ax = plots.plot_curves(mean_curves(runs, "test_regret"))
    assert _lines(ax) == 2 and ax.get_xlabel() == "search epoch"
    ax = plots.plot_curves(mean_curves(runs, "test_regret", x="elapsed"))
    assert "wall time" in ax.get_xlabel()
    ax = plots.plot_overfitting(mean_curves(runs, "oneshot_err"), mean_curves(runs, "test_err"))
    assert _lines(ax) == 2 and len(ax.get_legend().get_texts()) == 4
    ax = plots.plot_param_free_share(param_free_share(runs))
    assert ax.get_ylim()[0] < 0 < 1 < ax.get_ylim()[1]


def test_eigen_alpha_and_scatter_plots(runs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ax = plots.plot_eigen_trajectories(eigen_trajectories(runs))
    assert _lines(ax) >= 4
    ax = plots.plot_alpha_heatmap(alpha_weights(runs.runs[0].trace))
    assert ax.get_images()[0].get_array().shape == (12, 6)
    frame = runs.runs_frame()
    result = correlate(frame["lambda_avg"], frame["gap_loss_avg"], x_name="lambda_avg",
                       y_name="gap_loss_avg")
    ax = plots.plot_correlation(frame["lambda_avg"], frame["gap_loss_avg"], result,
                                hue=list(frame["method"]))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("spearman") for t in texts) and "darts-es" in texts
    axes = plots.plot_regularisation([1e-4, 1e-3, 1e-2], [0.3, 0.2, 0.1], [12.0, 11.0, 13.0])
    assert len(axes) == 2 and len(axes[0].collections) == 1
    written = plots.save_figure(ax.figure, tmp_path / "scatter")
    assert [p.suffix for p in written] == [".png", ".pdf"] and all(p.stat().st_size > 0
                                                                   for p in written)
    again = plots.save_figure(ax.figure, tmp_path / "again")  # no date: the same bytes
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in written]
    assert b"CreationDate" not in written[1].read_bytes()


def test_plot_runs_draws_one_line_per_run(runs) -> None:  # type: ignore[no-untyped-def]
    frame = runs.epochs_frame()
    ax = plots.plot_runs(frame, "test_regret")
    assert _lines(ax) == 4 and len(ax.get_legend().get_texts()) == 2  # one label per method


def test_plot_functions_draw_on_the_axes_they_are_given(runs) -> None:  # type: ignore[no-untyped-def]
    fig, grid = plots.new_figure(1, 2)
    ax = plots.plot_curves(mean_curves(runs, "test_regret"), ax=grid[0, 0])
    assert ax is grid[0, 0] and ax.figure is fig


def test_plot_budget_probe_draws_both_panels_from_the_probe() -> None:
    from nasbench_tools.stats import ProbeResult

    final = np.array([8.0, 12.0, 25.0, 20.0])
    probe = ProbeResult(ids=(5, 1, 7, 2), seed=1, table_epochs=2,
                        table_err=np.array([10.0, 20.0, 30.0, 40.0]),
                        curves=np.stack([final + 30.0, final + 10.0, final], axis=1),
                        seconds=np.ones(4), k_free=np.array([0, 1, 1, 2]),
                        names=("a", "b", "c", "d"))
    left, right = plots.plot_budget_probe(probe)
    assert left.figure is right.figure
    assert _lines(left) == 8 and _lines(right) == 4  # a curve and a dot per arch; a dot each
    assert [line.get_ydata().tolist() for line in left.get_lines()[::2]] == probe.curves.tolist()
    assert [t.get_text() for t in right.texts] == ["5", "1", "7", "2"]
    assert len(right.get_legend().get_texts()) == 3  # one entry per number of free ops
    fig, grid = plots.new_figure(1, 2)
    drawn = plots.plot_budget_probe(probe, axes=list(grid[0]))
    assert drawn[0] is grid[0, 0] and drawn[1].figure is fig
