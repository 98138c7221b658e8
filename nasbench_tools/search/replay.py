"""Replay the DARTS-ES stopping rule offline on logged dominant Hessian eigenvalues.

Two kinds of log are read, told apart by their content (HDF5 signature or text), not by suffix:

* a search trace of ours (HDF5, `SearchTrace.load`): ``lambda_max`` of the final trajectory,
  i.e. for every epoch up to the last record its latest record (DARTS-ADA rollbacks repeat
  epochs), where it is finite;
* a RobustDARTS ``derivatives_N.json``: one JSON object per line with ``epoch``, ``H`` (the
  Hessian of the validation loss w.r.t. the architecture weights, n x n) and ``g`` (the
  gradient, ignored); λ_max is the largest algebraic eigenvalue of (H + Hᵀ)/2.

The evaluations at multiples of ``every`` (the reference monitor looks at every 2nd epoch
whatever the Hessian cadence) and the log's final evaluation go to `early_stop` unchanged.
The final evaluation is the search's last epoch and never fires; a trace that ended early
(DARTS-ES stopped it) knows its configured epochs instead, so its stop is replayed. Torch is
not needed::

    >>> from nasbench_tools.search import replay_es
    >>> print(replay_es("runs/derivatives_1.json").line())  # doctest: +SKIP
    runs/derivatives_1.json: 26 evaluations; fires at epoch 32 (ratio 2.800), returns epoch 20

    $ nasbench-tools replay-es runs/derivatives_*.json traces/darts-s0.h5 --csv es.csv
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_tools.exceptions import ConfigError, DataNotFoundError, TableFormatError
from nasbench_tools.search.early_stop import early_stop

if TYPE_CHECKING:
    from nasbench_tools.search.trace import SearchTrace

#: Columns of the CSV that `write_replay_csv` writes, in order.
CSV_COLUMNS = ("log", "n_evals", "stop_epoch", "return_epoch", "ratio")

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_KEYS = ("epoch", "H", "g")


@dataclass(frozen=True)
class EigenvalueLog:
    """The finite evaluations ``(epochs[i], values[i])`` of one log, epochs strictly
    increasing, and the search's last epoch (evaluations there never fire)."""

    name: str
    epochs: tuple[int, ...]
    values: tuple[float, ...]
    last_epoch: int


@dataclass(frozen=True)
class ReplayResult:
    """The DARTS-ES rule on one log: ``n_evals`` evaluations were fed to it; the stop and
    return epochs and the local-average ratio are None when it never fires."""

    log: str
    n_evals: int
    stop_epoch: int | None
    return_epoch: int | None
    ratio: float | None

    def line(self) -> str:
        """One human line, e.g. ``x.json: 26 evaluations; fires at epoch 32 (ratio 2.800),
        returns epoch 20``."""
        head = f"{self.log}: {self.n_evals} evaluations; "
        if self.stop_epoch is None:
            return head + "never fires"
        return (head + f"fires at epoch {self.stop_epoch} (ratio {self.ratio:.3f}), "
                f"returns epoch {self.return_epoch}")

    def csv_row(self) -> list[str]:
        """The `CSV_COLUMNS` fields, empty where the rule never fires."""
        values = (self.log, self.n_evals, self.stop_epoch, self.return_epoch, self.ratio)
        return ["" if v is None else str(v) for v in values]


def replay_es(path: str | Path, *, every: int = 2, window: int = 5, lag: int = 4,
              factor: float = 1.3, start_epoch: int = 10) -> ReplayResult:
    """Read the eigenvalue log at ``path`` (a search trace or a RobustDARTS derivatives log)
    and replay `early_stop` on its evaluations at multiples of ``every`` plus its final one."""
    log = read_eigenvalue_log(path)
    epochs, values = select_evaluations(log, every)
    fired = early_stop(epochs, values, window=window, lag=lag, factor=factor,
                       start_epoch=start_epoch, last_epoch=log.last_epoch)
    if fired is None:
        return ReplayResult(log.name, len(epochs), None, None, None)
    return ReplayResult(log.name, len(epochs), fired.stop_epoch, fired.return_epoch, fired.ratio)


def read_eigenvalue_log(path: str | Path) -> EigenvalueLog:
    """The evaluations of a search trace (HDF5) or a RobustDARTS log (JSON lines), by content."""
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"eigenvalue log {str(p)!r} does not exist")
    if not p.is_file():
        raise TableFormatError(f"eigenvalue log {str(p)!r} is not a regular file")
    log = _read_trace(p) if _is_hdf5(p) else _read_derivatives(p)
    if not log.epochs:
        raise TableFormatError(f"eigenvalue log {str(p)!r} holds no finite eigenvalue")
    return log


def select_evaluations(log: EigenvalueLog, every: int = 2) -> tuple[list[int], list[float]]:
    """The evaluations at multiples of ``every``, plus the final one when it is off that grid
    and at the search's last epoch; raises `ConfigError` when the grid has a hole."""
    if every < 1:
        raise ConfigError(f"every (--every) must be >= 1, got {every}")
    have = set(log.epochs)
    first = -(-log.epochs[0] // every) * every
    for epoch in range(first, log.epochs[-1], every):
        if epoch not in have:
            raise ConfigError(_hole_message(log, epoch, every))
    keep = [i for i, e in enumerate(log.epochs) if e % every == 0]
    final = len(log.epochs) - 1
    if log.epochs[final] % every and log.epochs[final] >= log.last_epoch:
        keep.append(final)
    return [log.epochs[i] for i in keep], [log.values[i] for i in keep]


def write_replay_csv(results: Sequence[ReplayResult], path: str | Path) -> None:
    """Write ``results`` as a CSV of `CSV_COLUMNS`, atomically (temp file, ``os.replace``)."""
    target = Path(path)
    if not target.parent.is_dir():
        raise DataNotFoundError(f"output directory {str(target.parent)!r} does not exist")
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(r.csv_row() for r in results)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write the CSV {str(target)!r} ({exc.strerror}); expected a "
                          "writable file path") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _hole_message(log: EigenvalueLog, epoch: int, every: int) -> str:
    steps = np.diff(log.epochs[:-1] if len(log.epochs) > 2 else log.epochs).tolist()
    spacing = max(sorted(set(steps)), key=steps.count) if steps else every
    hint = (f"the log evaluates every {spacing} epochs, try --every {spacing}"
            if spacing != every else "the log has a hole there")
    return (f"eigenvalue log {log.name!r} has no evaluation at epoch {epoch}, which --every "
            f"{every} needs; {hint}")


def _is_hdf5(path: Path) -> bool:
    """HDF5 signature at offset 0, 512, 1024, 2048, ... (after a user block)."""
    size = path.stat().st_size
    offset = 0
    with open(path, "rb") as f:
        while offset + len(_HDF5_SIGNATURE) <= size:
            f.seek(offset)
            if f.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else 2 * offset
    return False


def _read_trace(path: Path) -> EigenvalueLog:
    from nasbench_tools.search.trace import SearchTrace

    try:
        trace = SearchTrace.load(path)
    except KeyError as exc:
        raise TableFormatError(f"search trace {str(path)!r} lacks the dataset {exc}") from None
    return _log_of(trace, str(path))


def _log_of(trace: SearchTrace, name: str) -> EigenvalueLog:
    """The finite eigenvalues of a trace's final trajectory and its last planned epoch."""
    final: list[tuple[int, float]] = []
    for r in reversed(trace.records):  # walking back, each epoch's latest record comes first
        if not final or r.epoch < final[-1][0]:
            final.append((r.epoch, r.lambda_max))
    evaluations = [(e, v) for e, v in reversed(final) if math.isfinite(v)]
    epochs = tuple(e for e, _ in evaluations)
    search = trace.config.get("search")
    n_epochs = search.get("epochs") if isinstance(search, dict) else trace.config.get("epochs")
    last = epochs[-1] if epochs else -1
    if isinstance(n_epochs, int) and n_epochs - 1 >= last:
        last = n_epochs - 1
    return EigenvalueLog(name, epochs, tuple(v for _, v in evaluations), last)


def _read_derivatives(path: Path) -> EigenvalueLog:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TableFormatError(f"eigenvalue log {name!r} is neither an HDF5 search trace nor "
                               "a text file of JSON lines") from None
    epochs: list[int] = []
    values: list[float] = []
    size: int | None = None
    for k, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        epoch, h = _parse_line(name, k, line, size)
        if epochs and epoch <= epochs[-1]:
            raise TableFormatError(f"eigenvalue log {name!r} line {k}: epoch {epoch} after epoch "
                                   f"{epochs[-1]}; epochs must be strictly increasing")
        size = len(h)
        epochs.append(epoch)
        values.append(float(np.linalg.eigvalsh((h + h.T) / 2).max()))
    if not epochs:
        raise TableFormatError(f"eigenvalue log {name!r} is empty; expected one JSON object "
                               "per line with keys epoch, H and g")
    return EigenvalueLog(name, tuple(epochs), tuple(values), epochs[-1])


def _parse_line(name: str, k: int, line: str, size: int | None) -> tuple[int, np.ndarray]:
    """The epoch and the Hessian of line ``k``; ``size`` is the earlier lines' H size."""
    where = f"eigenvalue log {name!r} line {k}"
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TableFormatError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno}); "
                               "expected one object with keys epoch, H and g") from None
    if not isinstance(obj, dict):
        raise TableFormatError(f"{where}: expected a JSON object with keys epoch, H and g, "
                               f"got {type(obj).__name__}")
    missing = [key for key in _KEYS if key not in obj]
    if missing:
        raise TableFormatError(f"{where}: missing key {missing[0]!r}; expected keys epoch, H "
                               "and g")
    epoch = obj["epoch"]
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise TableFormatError(f"{where}: epoch must be a non-negative integer, got {epoch!r}")
    return epoch, _hessian(where, obj["H"], size)


def _hessian(where: str, raw: object, size: int | None) -> np.ndarray:
    try:
        h = np.asarray(raw, dtype=np.float64)
        got = f"shape {h.shape}"
    except (TypeError, ValueError):
        h, got = np.empty(0), "a ragged list or non-numbers"
    if h.ndim != 2 or h.shape[0] != h.shape[1] or h.shape[0] == 0:
        raise TableFormatError(f"{where}: H must be a square n x n list of lists of numbers "
                               f"(n >= 1), got {got}")
    if size is not None and len(h) != size:
        raise TableFormatError(f"{where}: H is {len(h)} x {len(h)} but earlier lines are "
                               f"{size} x {size}")
    if not np.isfinite(h).all():
        raise TableFormatError(f"{where}: H holds non-finite values (NaN or infinity); "
                               "expected finite numbers")
    return h


def es_trace(trace: SearchTrace, *, every: int = 2, window: int = 5, lag: int = 4,
             factor: float = 1.3, start_epoch: int = 10, source: str = "") -> SearchTrace:
    """The DARTS-ES trace a DARTS ``trace`` implies: ES does not change the search before it
    stops, so online ES equals the DARTS records up to the epoch the rule fires, with the
    architecture of the epoch it returns (the whole trace when it never fires).

    The records keep their values (the firing record gets the ES event); the configuration
    gets ES's parameters and ``replayed_from`` (``source``, e.g. the DARTS trace's file name).
    """
    if trace.method != "darts":
        raise ConfigError(f"DARTS-ES is replayed on DARTS traces, not on {trace.method!r}")
    if not trace.finished:
        raise ConfigError("DARTS-ES is replayed on finished DARTS traces only")
    if any(r.iteration != 1 for r in trace.records):
        raise ConfigError("a trace with rollbacks is not a DARTS trace")
    log = _log_of(trace, source or "trace")
    epochs, values = select_evaluations(log, every)
    fired = early_stop(epochs, values, window=window, lag=lag, factor=factor,
                       start_epoch=start_epoch, last_epoch=log.last_epoch)
    params = {"every": every, "window": window, "lag": lag, "factor": factor,
              "start_epoch": start_epoch}
    config = {**dict(trace.config), "params": params, "replayed_from": source}
    if fired is None:
        return dataclasses.replace(trace, method="darts-es", config=config)
    records = list(trace.records[: fired.stop_epoch + 1])
    records[-1] = dataclasses.replace(records[-1], events=fired.event())
    return dataclasses.replace(trace, method="darts-es", records=tuple(records), config=config,
                               result_epoch=fired.return_epoch)


def trace_differences(a: SearchTrace, b: SearchTrace, *,
                      ignore: Sequence[str] = ("wall_time", "analysis_time", "events")
                      ) -> dict[str, float]:
    """Per record field, the largest absolute difference between the records the two traces
    have in common (in order); ``inf`` for a text or integer field that differs; fields that
    agree everywhere are left out, so ``{}`` means identical."""
    out: dict[str, float] = {}
    for x, y in zip(a.records, b.records, strict=False):
        for f in dataclasses.fields(x):
            if f.name in ignore:
                continue
            u, v = getattr(x, f.name), getattr(y, f.name)
            if isinstance(u, str) or isinstance(v, str) or u is None or v is None:
                diff = 0.0 if u == v else math.inf
            else:
                du, dv = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
                if du.shape != dv.shape:
                    diff = math.inf
                else:
                    both_nan = np.isnan(du) & np.isnan(dv)
                    delta = np.where(both_nan, 0.0, np.abs(du - dv))
                    diff = float(np.max(delta, initial=0.0))
                    if np.isnan(diff):
                        diff = math.inf
            if diff > 0:
                out[f.name] = max(out.get(f.name, 0.0), diff)
    return out

