"""Grids of searches (R-DARTS, docs/methods.md): every grid value x seed, fanned out through
the same joblib / Dask machinery as the table builder, and the final architecture chosen by the
table's *validation* error (never the test error).

Workers only compute and return traces; this process writes one trace file per run into the
output folder, so a grid that was interrupted resumes by skipping the runs already written.

    summary = run_grid("rdarts-l2", "data/t81-digits.h5", seeds=[0, 1, 2], out_dir="traces/l2")
    print(summary.format())
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.parallel import map_unordered
from nasbench_tools.search.checkpoint import checkpoint_path
from nasbench_tools.search.config import get_search_config
from nasbench_tools.search.strategies import STRATEGIES, make_strategy, method_overrides
from nasbench_tools.search.trace import SearchTrace


@dataclass(frozen=True)
class GridRun:
    """One finished search of a grid and the table's verdict on its returned architecture."""

    value: float | None  # the grid parameter's value (None: a seeds-only grid)
    seed: int
    path: str
    arch: int
    genotype: str
    valid_err: float
    test_err: float
    test_regret: float
    result_epoch: int


@dataclass(frozen=True)
class GridSummary:
    method: str
    parameter: str
    runs: tuple[GridRun, ...]
    selected: GridRun  # lowest table validation error (ties: first in grid order)

    def format(self) -> str:
        name = self.parameter or "-"
        lines = [f"{'':2s}{name:>14s} {'seed':>4s} {'arch':>4s} {'valid %':>8s} {'test %':>7s} "
                 f"{'regret':>7s}  genotype"]
        for r in self.runs:
            mark = "*" if r is self.selected else " "
            value = "-" if r.value is None else f"{r.value:g}"
            lines.append(f"{mark} {value:>14s} {r.seed:4d} {r.arch:4d} {r.valid_err:8.2f} "
                         f"{r.test_err:7.2f} {r.test_regret:7.2f}  {r.genotype}")
        s = self.selected
        which = f"{name}={s.value:g}, seed {s.seed}" if s.value is not None else f"seed {s.seed}"
        lines.append(f"selected by validation error: arch {s.arch} ({which}), test error "
                     f"{s.test_err:.2f} %, regret {s.test_regret:.2f}")
        return "\n".join(lines)


def search_worker(method: str, table: str, seed: int, params: Mapping[str, Any],
                  overrides: Mapping[str, Any], device: str, checkpoint: str | None = None,
                  data_root: str | None = None) -> tuple[int, dict[str, Any], SearchTrace]:
    """One search of a grid (module level, so loky and Dask workers can import it); with
    ``checkpoint`` the search's own state file lets a killed grid go on within the run."""
    from nasbench_tools.search.engine import run_search

    trace = run_search(method, table, seed=seed, device=device, overrides=overrides,
                       params=params, checkpoint=checkpoint, data_root=data_root)
    return seed, dict(params), trace


def _run_name(method: str, parameter: str, value: float | None, seed: int) -> str:
    tag = f"-{parameter}{value:g}" if value is not None else ""
    return f"{method}{tag}-s{seed}.h5"


def run_grid(
    method: str, table: str | Path, *, seeds: Sequence[int], out_dir: str | Path,
    values: Sequence[float] | None = None, params: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None, device: str = "auto", jobs: int = 1,
    scheduler: str | None = None, progress: Callable[[str], None] | None = None,
    data_root: str | None = None,
) -> GridSummary:
    """Run ``method`` for every grid value (the strategy's own grid unless ``values``) and seed;
    traces go to ``out_dir``; runs whose trace exists are read back instead of re-run."""
    from nasbench_tools.table.benchmark import Benchmark

    if method not in STRATEGIES:
        raise UnknownNameError("method", method, STRATEGIES)
    parameter, default_values = STRATEGIES[method].grid
    grid_values: list[float | None] = list(values if values is not None else default_values)
    if values is not None and not parameter:
        raise ConfigError(f"method {method!r} has no grid parameter; only seeds can vary")
    if not grid_values:
        grid_values = [None]
    bench = Benchmark.open(table)
    # bad overrides fail before any work
    config = get_search_config(bench.dataset, method_overrides(method, overrides))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = {(v, s): out / _run_name(method, parameter, v, s) for v in grid_values for s in seeds}
    calls = []
    for (v, s), path in plan.items():
        if not path.exists():
            run_params = {**(params or {}), **({parameter: v} if v is not None else {})}
            make_strategy(method, config, run_params)  # bad parameters fail before any work
            calls.append((method, str(table), s, run_params, dict(overrides or {}), device,
                          str(checkpoint_path(path)), data_root))
    for seed, run_params, trace in map_unordered(search_worker, calls, jobs=jobs,
                                                 scheduler=scheduler):
        value = run_params.get(parameter) if parameter else None
        trace.save(plan[(value, seed)])
        checkpoint_path(plan[(value, seed)]).unlink(missing_ok=True)
        if progress is not None:
            progress(f"{plan[(value, seed)].name}: arch {trace.result.arch}, "
                     f"regret {trace.result.test_regret:.2f}")
    runs = tuple(_grid_run(v, s, plan[(v, s)]) for v, s in plan)
    selected = min(runs, key=lambda r: (math.inf if math.isnan(r.valid_err) else r.valid_err))
    return GridSummary(method=method, parameter=parameter, runs=runs, selected=selected)


def _grid_run(value: float | None, seed: int, path: Path) -> GridRun:
    r = SearchTrace.load(path).result
    return GridRun(value=value, seed=seed, path=str(path), arch=r.arch, genotype=r.genotype,
                   valid_err=r.valid_err, test_err=r.test_err, test_regret=r.test_regret,
                   result_epoch=r.epoch)
