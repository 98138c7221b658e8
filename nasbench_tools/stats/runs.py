"""A set of search traces as data: one row per run and one row per epoch (no torch, no plots).

    runs = load_runs("traces/")                  # a folder, a file, or a list of them
    runs.runs_frame()                            # one row per trace
    runs.epochs_frame()                          # one row per trained epoch

The table a trace was searched on is found from the path the trace records (as written, then
beside the trace) and accepted only when its content hash matches; pass ``table=`` otherwise.
Without a table the quantities that need it (the generalisation gap) are NaN.

Traces of different tables, spaces or search settings do not belong in one analysis: loading
them together raises `MixedRunsError` unless ``group=True``, which labels each run with its
group (the settings that differ) so that statistics are computed per group.

Per-run quantities, all from the trace (and the table for ``gen_gap``):

- ``lambda_end``: the last dominant eigenvalue of the search; ``lambda_peak`` its maximum;
  ``lambda_avg`` and ``lambda_slope``: mean and least-squares slope (per epoch) of the last
  `TAIL` evaluations (the local average DARTS-ES smooths with);
- ``gap_loss`` / ``gap_err`` at the last epoch and ``*_avg`` over the last `TAIL` epochs:
  the discretisation gap (discretised supernet minus one-shot, on split B);
- ``test_err``, ``valid_err``, ``test_regret`` of the returned architecture (table means);
- ``gen_gap``: table train minus test accuracy of the returned architecture at the table's
  last epoch, in points; ``param_free_normal`` / ``param_free_reduce``: its parameter-free ops.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_tools.exceptions import ConfigError, NasbenchError, TableFormatError
from nasbench_tools.search.trace import EpochRecord, SearchTrace
from nasbench_tools.spaces import PARAMETER_FREE_OPS, CellSpace
from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.table.schema import Metric

if TYPE_CHECKING:
    import pandas as pd

#: Evaluations (and epochs) in the end-of-search averages: DARTS-ES's local-average window.
TAIL = 5

_ES = re.compile(r"es-fired at (\d+)")
#: A DARTS-ADA rollback in a record's event text; group 1 is the epoch restored.
ROLLBACK = re.compile(r"rollback to (\d+)")
#: Search settings that do not change what a search computes.
_IRRELEVANT = frozenset({"threads"})


class MixedRunsError(ConfigError):
    """Traces of different tables, spaces or search settings were loaded as one set."""


@dataclass(frozen=True)
class Run:
    """One trace, where it came from, its group label and the table it was searched on."""

    name: str
    path: str
    trace: SearchTrace
    table: Benchmark | None = field(default=None, compare=False)
    group: str = ""

    @cached_property
    def final(self) -> tuple[EpochRecord, ...]:
        """The returned trajectory: the latest record of every epoch, in epoch order (after a
        DARTS-ADA rollback the abandoned epochs are left out)."""
        latest = {r.epoch: r for r in self.trace.records}
        return tuple(latest[e] for e in sorted(latest))


def param_free_by_cell(space: CellSpace, arch: int) -> tuple[int, int]:
    """Parameter-free ops (``none``, skip, pooling) on the normal and the reduction cell's
    edges of ``arch`` (a space with shared cells counts the one cell for both)."""
    names = space.op_names(space.arch(int(arch)))
    normal = sum(n in PARAMETER_FREE_OPS for e, n in zip(space.edges, names, strict=True)
                 if e.cell == "normal")
    if space.shared:
        return normal, normal
    reduce = sum(n in PARAMETER_FREE_OPS for e, n in zip(space.edges, names, strict=True)
                 if e.cell == "reduce")
    return normal, reduce


@dataclass(frozen=True)
class RunSet:
    """Traces loaded together; frames are computed on first use."""

    runs: tuple[Run, ...]

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.group for r in self.runs))

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.trace.method for r in self.runs))

    @property
    def has_table(self) -> bool:
        return all(r.table is not None for r in self.runs)

    def runs_frame(self) -> pd.DataFrame:
        """One row per run (see the module docstring for the columns)."""
        return self._runs_frame.copy()

    def epochs_frame(self) -> pd.DataFrame:
        """One row per trained epoch of every run, in training order; ``final`` marks the rows
        of the returned trajectory, ``elapsed`` is the search's cumulative wall time (seconds,
        abandoned epochs included; analysis time excluded)."""
        return self._epochs_frame.copy()

    @cached_property
    def _runs_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([_run_row(r) for r in self.runs])

    @cached_property
    def _epochs_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.concat([_epoch_rows(r) for r in self.runs], ignore_index=True)


# -- per run ------------------------------------------------------------------------------------
def _tail_mean(values: np.ndarray) -> float:
    return float(np.mean(values[-TAIL:])) if values.size else float("nan")


def _gen_gap(table: Benchmark | None, arch: int) -> float:
    if table is None:
        return float("nan")
    try:
        train = table.query(int(arch), Metric.TRAIN_ACC)
        test = table.query(int(arch), Metric.TEST_ACC)
    except NasbenchError:
        return float("nan")
    return 100.0 * (train - test)


def lambda_summary(epochs: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """End-of-search eigenvalue summaries of one run's evaluations ``(epochs[i], values[i])``."""
    ok = np.isfinite(values)
    ep, lam = np.asarray(epochs, dtype=np.float64)[ok], np.asarray(values)[ok]
    tail_ep, tail = ep[-TAIL:], lam[-TAIL:]
    slope = float(np.polyfit(tail_ep, tail, 1)[0]) if tail.size >= 2 else float("nan")
    return {"lambda_end": float(lam[-1]) if lam.size else float("nan"),
            "lambda_peak": float(lam.max()) if lam.size else float("nan"),
            "lambda_avg": _tail_mean(lam), "lambda_slope": slope, "n_lambda": int(lam.size)}


def _events(run: Run) -> dict[str, Any]:
    text = [r.events for r in run.trace.records if r.events]
    es = [int(m.group(1)) for t in text for m in _ES.finditer(t)]
    rollbacks = sum(len(ROLLBACK.findall(t)) for t in text)
    # only DARTS-ES stops on its signal (DARTS-ADA rolls back, or goes on at its last decay)
    stop = es[-1] if es and run.trace.method == "darts-es" else -1
    return {"es_signals": len(es), "es_stop_epoch": stop, "rollbacks": rollbacks,
            "events": " | ".join(text)}


def _run_row(run: Run) -> dict[str, Any]:
    trace, final = run.trace, run.final
    res, last = trace.result, final[-1]
    params = dict(trace.config.get("params", {}))
    lam = lambda_summary(np.array([r.epoch for r in final]),
                         np.array([r.lambda_max for r in final]))
    gap_loss = np.array([r.gap_loss for r in final])
    gap_err = np.array([r.gap_err for r in final])
    normal, reduce = param_free_by_cell(trace.space, res.arch)
    return {
        "run": run.name, "path": run.path, "group": run.group, "method": trace.method,
        "seed": trace.seed, "weight_decay": res.weight_decay,
        "drop_path": float(params.get("drop_path", 0.0)),
        "params": json.dumps(params, sort_keys=True), "result_epoch": res.epoch,
        "last_epoch": last.epoch, "arch": res.arch, "genotype": res.genotype, **lam,
        "gap_loss": last.gap_loss, "gap_err": last.gap_err,
        "gap_loss_avg": _tail_mean(gap_loss[np.isfinite(gap_loss)]),
        "gap_err_avg": _tail_mean(gap_err[np.isfinite(gap_err)]),
        "oneshot_err": last.oneshot_err, "test_err": res.test_err, "valid_err": res.valid_err,
        "test_regret": res.test_regret, "valid_regret": res.valid_regret,
        "gen_gap": _gen_gap(run.table, res.arch), "param_free_normal": normal,
        "param_free_reduce": reduce,
        "wall_time": float(np.nansum([r.wall_time for r in trace.records])),
        "analysis_time": float(np.nansum([r.analysis_time for r in trace.records])),
        "alpha_updates": int(sum(r.alpha_updates for r in trace.records)), **_events(run),
        "finished": trace.finished, "threshold_status": last.threshold_status,
        "threshold_regret": last.threshold_regret, "sigma_normal": last.sigma_normal,
        "sigma_reduce": last.sigma_reduce, "d01": last.d01,
        "global_accepted": int(sum(r.global_accepted for r in trace.records)),
    }


def _epoch_rows(run: Run) -> pd.DataFrame:
    import pandas as pd

    trace = run.trace
    final_ids = {id(r) for r in run.final}
    gen = {a: _gen_gap(run.table, a) for a in {r.arch for r in trace.records}}
    free = {a: param_free_by_cell(trace.space, a) for a in gen}
    elapsed = np.cumsum(np.nan_to_num([r.wall_time for r in trace.records]))
    rows = []
    for r, t in zip(trace.records, elapsed, strict=True):
        rows.append({
            "run": run.name, "group": run.group, "method": trace.method, "seed": trace.seed,
            "epoch": r.epoch, "iteration": r.iteration, "final": id(r) in final_ids,
            "arch": r.arch, "test_err": r.test_err, "valid_err": r.valid_err,
            "test_regret": r.test_regret, "valid_regret": r.valid_regret,
            "train_err": r.train_err, "oneshot_loss": r.oneshot_loss,
            "oneshot_err": r.oneshot_err, "discrete_loss": r.discrete_loss,
            "discrete_err": r.discrete_err, "gap_loss": r.gap_loss, "gap_err": r.gap_err,
            "lambda_max": r.lambda_max, "weight_decay": r.weight_decay,
            "drop_path": r.drop_path, "gen_gap": gen[r.arch],
            "param_free_normal": free[r.arch][0], "param_free_reduce": free[r.arch][1],
            "wall_time": r.wall_time, "elapsed": float(t), "events": r.events,
            "threshold_arch": r.threshold_arch, "threshold_status": r.threshold_status,
            "threshold_regret": r.threshold_regret, "sigma_normal": r.sigma_normal,
            "sigma_reduce": r.sigma_reduce, "d01": r.d01, "global_steps": r.global_steps,
            "global_accepted": r.global_accepted,
        })
    return pd.DataFrame(rows)


# -- loading ------------------------------------------------------------------------------------
def trace_paths(sources: str | Path | Sequence[str | Path]) -> list[tuple[Path, bool]]:
    """The files named by ``sources`` and whether each was named itself (True) or found in a
    folder (False; folders are searched recursively for ``*.h5``); duplicates (the same file
    by another path) removed. Paths stay as given, so that what is written from them (a
    report's ``runs.csv``) does not depend on where the checkout lies."""
    items = [sources] if isinstance(sources, str | Path) else list(sources)
    if not items:
        raise ConfigError("no traces given: name trace files or folders holding them")
    out: dict[Path, tuple[Path, bool]] = {}
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(item.rglob("*.h5"))
            if not found:
                raise ConfigError(f"folder {str(item)!r} holds no trace files (*.h5)")
            for p in found:
                out.setdefault(p.resolve(), (p, False))
        elif item.exists():
            key = item.resolve()
            if key not in out or not out[key][1]:  # a name given keeps the first one given
                out[key] = (item, True)
        else:
            raise ConfigError(f"trace {str(item)!r} does not exist")
    return list(out.values())


def _load_traces(sources: str | Path | Sequence[str | Path]) -> list[tuple[Path, SearchTrace]]:
    """Every trace named or found; other HDF5 files found in a folder (a table, say) are
    skipped, but a file named itself must be a trace."""
    out = []
    for path, named in trace_paths(sources):
        try:
            out.append((path, SearchTrace.load(path)))
        except TableFormatError as exc:
            if named or "is not a nasbench-tools search trace" not in str(exc):
                raise
    if not out:
        raise ConfigError("no search traces among the files given (the *.h5 files found are "
                          "not traces)")
    return out


def _settings_key(trace: SearchTrace) -> dict[str, str]:
    search = {k: v for k, v in dict(trace.config.get("search", {})).items()
              if k not in _IRRELEVANT}
    return {"table": trace.table_sha256 or trace.table,
            "space": json.dumps(trace.space.identity(), sort_keys=True),
            "search": json.dumps(search, sort_keys=True),
            "protocol": json.dumps(trace.config.get("protocol", {}), sort_keys=True)}


def _group_label(key: dict[str, str], first: dict[str, str], trace: SearchTrace) -> str:
    if key == first:
        return "g0"
    parts = []
    if key["table"] != first["table"] or key["protocol"] != first["protocol"]:
        parts.append(f"table {Path(trace.table).name or key['table'][:8]}")
    if key["space"] != first["space"]:
        parts.append(f"space {trace.space.name}")
    if key["search"] != first["search"]:
        mine, base = json.loads(key["search"]), json.loads(first["search"])
        parts += [f"{k}={mine.get(k)}" for k in sorted(set(mine) | set(base))
                  if mine.get(k) != base.get(k)]
    return ", ".join(parts)


def _differing(a: dict[str, str], b: dict[str, str]) -> str:
    return ", ".join(k for k in a if a[k] != b[k])


def _find_table(trace: SearchTrace, path: Path, cache: dict[Path, Benchmark]
                ) -> Benchmark | None:
    if not trace.table:
        return None
    for candidate in (Path(trace.table), path.parent / trace.table,
                      path.parent / Path(trace.table).name):
        if candidate.is_file():
            resolved = candidate.resolve()
            if resolved not in cache:
                try:
                    cache[resolved] = Benchmark.open(resolved)
                except TableFormatError:
                    continue
            bench = cache[resolved]
            if not trace.table_sha256 or bench.content_sha256 == trace.table_sha256:
                return bench
    return None


def load_runs(sources: str | Path | Sequence[str | Path], *,
              table: str | Path | Benchmark | None = None, group: bool = False,
              find_table: bool = True) -> RunSet:
    """Load traces (files or folders) into a `RunSet`.

    ``table``: the table every trace was searched on (its content hash must match the traces');
    otherwise each trace's own table is looked for when ``find_table``. ``group=True`` accepts
    traces of different tables or settings and labels each run's group.
    """
    traces = _load_traces(sources)
    bench = Benchmark.open(table) if isinstance(table, str | Path) else table
    cache: dict[Path, Benchmark] = {}
    runs, keys = [], []
    own: Benchmark | None
    for path, trace in traces:
        if bench is not None:
            sha = bench.content_sha256
            if trace.table_sha256 and sha != trace.table_sha256:
                raise ConfigError(f"trace {path.name!r} was searched on another table than the "
                                  f"one given (content hash {trace.table_sha256[:12]} vs "
                                  f"{sha[:12]})")
            own = bench
        else:
            own = _find_table(trace, path, cache) if find_table else None
        keys.append(_settings_key(trace))
        runs.append(Run(name=path.stem, path=str(path), trace=trace, table=own))
    labels = _labels(keys, runs, group)
    names = _unique_names(runs)
    return RunSet(tuple(Run(name=n, path=r.path, trace=r.trace, table=r.table, group=g)
                        for r, n, g in zip(runs, names, labels, strict=True)))


def _labels(keys: list[dict[str, str]], runs: list[Run], group: bool) -> list[str]:
    first = keys[0]
    for key, run in zip(keys, runs, strict=True):
        if key != first and not group:
            raise MixedRunsError(
                f"traces {Path(runs[0].path).name!r} and {Path(run.path).name!r} differ in "
                f"{_differing(key, first)}; analyse them separately or group them "
                "(group=True; report --group)")
    return [_group_label(k, first, r.trace) for k, r in zip(keys, runs, strict=True)]


def _unique_names(runs: list[Run]) -> list[str]:
    stems = [r.name for r in runs]
    if len(set(stems)) == len(stems):
        return stems
    return [f"{Path(r.path).parent.name}/{r.name}" for r in runs]
