"""``run_global_benchmark``: every method x seed on one test function at one budget, written
as ``results.csv`` (one row per run), ``summary.csv`` (per method), ``curves.csv`` (quartiles of
best-so-far − f* per evaluation) and ``convergence.png`` / ``.pdf``.

    bench = run_global_benchmark("styblinski-tang", 5, 5000, 10,
                                 "figures/bench-global/styblinski-tang-d5", jobs=2)
    print(bench.format())

The runs fan out over the project's executor (in this process for ``jobs=1``, else on loky
workers); each run seeds itself, so the files are the same whatever ``jobs``. The folder is
built beside its destination and moved into place at the end; an existing non-empty folder is
refused before any work unless ``overwrite``.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.parallel import map_unordered
from nasbench_tools.stats.convergence import (
    ConvergenceCurves,
    convergence_curves,
    method_summary,
    results_frame,
)
from nasbench_tools.synthetic.functions import get_function
from nasbench_tools.synthetic.optimisers import (
    OptimiserRun,
    check_budget,
    get_method,
    list_methods,
    run_method,
)

FILES = ("results.csv", "summary.csv", "curves.csv", "convergence.png", "convergence.pdf")


@dataclass(frozen=True, eq=False)
class GlobalBenchmark:
    """What `run_global_benchmark` wrote to ``out_dir``, and its frames."""

    out_dir: Path
    function: str
    dim: int
    budget: int
    seeds: tuple[int, ...]
    results: pd.DataFrame
    summary: pd.DataFrame
    curves: ConvergenceCurves
    wall_seconds: float

    def format(self) -> str:
        """The per-method table: success rate and median best − f* with its quartiles."""
        lines = [f"{self.function}, d={self.dim}, budget {self.budget} evaluations, "
                 f"{len(self.seeds)} seeds ({self.wall_seconds:.1f} s) -> {self.out_dir}",
                 f"{'method':22s} {'success':>9s} {'median best-f*':>15s} "
                 f"{'q25':>11s} {'q75':>11s}"]
        for row in self.summary.itertuples(index=False):
            lines.append(f"{row.method:22s} {row.successes:>3d}/{row.runs:<3d} {'':2s} "
                         f"{row.median_regret:15.4g} {row.q25_regret:11.4g} "
                         f"{row.q75_regret:11.4g}")
        return "\n".join(lines)


def _check_out_dir(target: Path, overwrite: bool) -> None:
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--out {str(target)!r} is a file; allowed: a folder (new or empty)")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise ConfigError(f"output folder {str(target)!r} exists and is not empty; choose "
                          "another --out or pass --overwrite")


def _seeds(seeds: int | Sequence[int]) -> tuple[int, ...]:
    chosen = tuple(range(seeds)) if isinstance(seeds, int) else tuple(sorted(set(seeds)))
    if not chosen or min(chosen) < 0:
        raise ConfigError(f"seeds {seeds!r} are not allowed; use a count >= 1 or seeds >= 0")
    return chosen


def run_global_benchmark(function: str, dim: int, budget: int, seeds: int | Sequence[int],
                         out_dir: str | Path, *, methods: Sequence[str] | None = None,
                         jobs: int = 1, overwrite: bool = False, tolerance: float = 1.0,
                         progress: Callable[[str], None] | None = None) -> GlobalBenchmark:
    """Run ``methods`` (default: all registered) x ``seeds`` (a count n means 0..n-1) for
    ``budget`` evaluations each on ``function`` in ``dim`` dimensions; write the files to
    ``out_dir``. Every input is checked before the first run."""
    fn = get_function(function)
    names = list(dict.fromkeys(methods)) if methods is not None else list_methods()
    if not names:
        raise ConfigError("no methods given; allowed: " + ", ".join(list_methods()))
    specs = [get_method(name) for name in names]
    check_budget([s.kind for s in specs], dim, budget)
    chosen = _seeds(seeds)
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    if not tolerance > 0:
        raise ConfigError(f"tolerance {tolerance} is not allowed; use a number > 0")
    target = Path(out_dir)
    _check_out_dir(target, overwrite)
    runs = _run_all(fn.name, dim, budget, names, chosen, jobs, progress or (lambda _: None))
    results = results_frame(runs.runs, tolerance=tolerance)
    bench = GlobalBenchmark(target, fn.name, dim, budget, chosen, results,
                            method_summary(results), convergence_curves(runs.runs),
                            runs.seconds)
    _write(bench, target)
    return bench


@dataclass(frozen=True)
class _Runs:
    runs: tuple[OptimiserRun, ...]
    seconds: float


def _run_all(function: str, dim: int, budget: int, methods: Sequence[str],
             seeds: Sequence[int], jobs: int, say: Callable[[str], None]) -> _Runs:
    calls = [(function, dim, method, budget, seed) for method in methods for seed in seeds]
    start = time.perf_counter()
    runs = []
    for run in map_unordered(run_method, calls, jobs=jobs):
        runs.append(run)
        say(f"{len(runs)}/{len(calls)} {run.method} seed {run.seed}: best - f* = "
            f"{run.best_value - run.optimum_value:.4g} ({time.perf_counter() - start:.1f} s)")
    runs.sort(key=lambda r: (r.method, r.seed))
    return _Runs(tuple(runs), time.perf_counter() - start)


def _write(bench: GlobalBenchmark, target: Path) -> None:
    from nasbench_tools.plots import plot_convergence, save_figure

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    staging.mkdir()
    try:
        bench.results.to_csv(staging / "results.csv", index=False)
        bench.summary.to_csv(staging / "summary.csv", index=False)
        bench.curves.frame.to_csv(staging / "curves.csv", index=False, float_format="%.6g")
        save_figure(plot_convergence(bench.curves).figure, staging / "convergence")
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(staging: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
