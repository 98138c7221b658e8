"""`SearchTrace`: the per-epoch record of one search, as frozen values; saved as HDF5.

A trace is loadable without torch. Layout (trace version 1): root attributes ``kind``,
``trace_version``, ``method``, ``seed``, ``table`` (path), ``table_sha256``, ``space`` (JSON),
``config`` (JSON of every search setting) and ``result_epoch``; one dataset per `EpochRecord`
field under ``/epochs``, one row per trained epoch in training order (after a DARTS-ADA
rollback epochs repeat with a higher ``iteration``); ``alphas`` and ``spectrum`` are
``[row, n_alpha]``; NaN = not computed that epoch; ``genotype`` and ``events`` are strings.

    trace.save("traces/darts-s0.h5")
    SearchTrace.load("traces/darts-s0.h5").to_frame()
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_tools.exceptions import ConfigError, TableFormatError
from nasbench_tools.spaces import CellSpace

if TYPE_CHECKING:
    import pandas as pd

TRACE_KIND = "nasbench-tools search trace"
TRACE_VERSION = 1


@dataclass(frozen=True)
class EpochRecord:
    """What the search looked like at the end of one epoch (errors and regrets in percent)."""

    epoch: int
    alphas: np.ndarray  # flat: concat(alpha_normal, alpha_reduce), row-major
    arch: int
    genotype: str
    iteration: int = 1  # 1 + rollbacks before this epoch (DARTS-ADA)
    train_loss: float = float("nan")
    train_err: float = float("nan")
    test_err: float = float("nan")
    valid_err: float = float("nan")
    test_regret: float = float("nan")
    valid_regret: float = float("nan")
    oneshot_loss: float = float("nan")
    oneshot_err: float = float("nan")
    discrete_loss: float = float("nan")
    discrete_err: float = float("nan")
    lambda_max: float = float("nan")
    lambda_ci_low: float = float("nan")  # 95 % interval over Hessian batches (when > 1)
    lambda_ci_high: float = float("nan")
    spectrum: np.ndarray | None = None
    alpha_grad_norm: float = float("nan")
    lr: float = float("nan")
    weight_decay: float = float("nan")
    drop_path: float = float("nan")
    alpha_updates: int = 0
    wall_time: float = float("nan")  # seconds of search (training) in this epoch
    analysis_time: float = float("nan")  # seconds of evaluation, table look-ups and Hessian
    events: str = ""
    # FairDARTS: the thresholded reading (the argmax reading is ``arch``), sigmoid summaries
    threshold_arch: int = -1  # table row of the thresholded architecture; -1: off-table
    threshold_status: str = ""  # valid, off-table or invalid ("" when not read)
    threshold_lost: str = ""  # cells whose every edge was dropped, e.g. "normal"
    threshold_test_err: float = float("nan")
    threshold_regret: float = float("nan")
    sigma_normal: float = float("nan")  # mean sigmoid weight of the normal cell's ops
    sigma_reduce: float = float("nan")
    d01: float = float("nan")  # mean min(sigma, 1 - sigma): distance from a zero-one solution
    # DSCD: this epoch's local, global and accepted global steps, and its extra loss evaluations
    local_steps: int = 0
    global_steps: int = 0
    global_accepted: int = 0
    loss_evals: int = 0

    @property
    def gap_loss(self) -> float:
        """Discretisation gap of the loss, ``L(onehot(alpha)) - L(alpha)``."""
        return self.discrete_loss - self.oneshot_loss

    @property
    def gap_err(self) -> float:
        return self.discrete_err - self.oneshot_err


_ARRAY_FIELDS = ("alphas", "spectrum")
_TEXT_FIELDS = ("genotype", "events", "threshold_status", "threshold_lost")
_INT_FIELDS = ("epoch", "arch", "alpha_updates", "iteration", "threshold_arch", "local_steps",
               "global_steps", "global_accepted", "loss_evals")


@dataclass(frozen=True)
class SearchTrace:
    """One search run: its settings and one `EpochRecord` per epoch, in order."""

    method: str
    seed: int
    space: CellSpace
    records: tuple[EpochRecord, ...]
    table: str = ""
    table_sha256: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    result_epoch: int = -1  # the epoch whose architecture the search returns (-1: the last)
    finished: bool = True  # False: stopped by a time limit before its last epoch

    @property
    def result(self) -> EpochRecord:
        """The record of the returned architecture (the latest record of `result_epoch`)."""
        if not self.records:
            raise ConfigError("the trace has no epochs")
        if self.result_epoch < 0:
            return self.records[-1]
        return next(r for r in reversed(self.records) if r.epoch == self.result_epoch)

    def to_frame(self) -> pd.DataFrame:
        """Long pandas DataFrame: one row per epoch, scalar fields plus the two gaps."""
        import pandas as pd

        rows = []
        for r in self.records:
            row = {k: v for k, v in dataclasses.asdict(r).items() if k not in _ARRAY_FIELDS}
            row.update(gap_loss=r.gap_loss, gap_err=r.gap_err)
            rows.append(row)
        return pd.DataFrame(rows)

    def save(self, path: str | Path) -> None:
        from nasbench_tools.table.hdf5 import write_arrays

        if not self.records:
            raise ConfigError("cannot save a trace without epochs")
        n = len(self.records[0].alphas)
        arrays: dict[str, np.ndarray] = {}
        for f in dataclasses.fields(EpochRecord):
            values = [getattr(r, f.name) for r in self.records]
            if f.name == "spectrum":
                values = [np.full(n, np.nan) if v is None else v for v in values]
            arrays[f"epochs/{f.name}"] = np.asarray(values, dtype=object if f.name in
                                                     _TEXT_FIELDS else None)
        attrs: dict[str, str | int | float] = {
            "kind": TRACE_KIND, "trace_version": TRACE_VERSION, "method": self.method,
            "seed": self.seed, "table": self.table, "table_sha256": self.table_sha256,
            "space": self.space.to_json(), "config": json.dumps(dict(self.config), sort_keys=True),
            "result_epoch": self.result_epoch, "finished": int(self.finished),
        }
        write_arrays(path, arrays, attrs)

    @classmethod
    def load(cls, path: str | Path) -> SearchTrace:
        from nasbench_tools.table.hdf5 import read_arrays

        arrays, attrs = read_arrays(path, "search trace")
        if attrs.get("kind") != TRACE_KIND:
            raise TableFormatError(f"{str(path)!r} is not a nasbench-tools search trace")
        if attrs.get("trace_version") != TRACE_VERSION:
            raise TableFormatError(f"{str(path)!r} has trace version "
                                   f"{attrs.get('trace_version')}; this code reads version 1")
        # fields added after a trace was written keep their defaults
        columns = {f.name: arrays[f"epochs/{f.name}"] for f in dataclasses.fields(EpochRecord)
                   if f"epochs/{f.name}" in arrays}
        records = tuple(
            EpochRecord(**{name: _value(name, col[i]) for name, col in columns.items()})
            for i in range(len(columns["epoch"]))
        )
        return cls(method=str(attrs["method"]), seed=int(attrs["seed"]),
                   space=CellSpace.from_dict(json.loads(attrs["space"])), records=records,
                   table=str(attrs["table"]), table_sha256=str(attrs["table_sha256"]),
                   config=json.loads(attrs["config"]), result_epoch=int(attrs["result_epoch"]),
                   finished=bool(attrs.get("finished", 1)))


def _value(name: str, raw: Any) -> Any:
    if name == "spectrum":
        return None if np.isnan(raw).all() else np.asarray(raw)
    if name == "alphas":
        return np.asarray(raw)
    if name in _TEXT_FIELDS:
        return str(raw)
    if name in _INT_FIELDS:
        return int(raw)
    return float(raw)
