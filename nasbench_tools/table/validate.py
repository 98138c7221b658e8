"""Check that a table is complete and self-consistent, reporting problems instead of raising.

::

    >>> from nasbench_tools.table.validate import validate_table
    >>> report = validate_table("data/t81-digits.h5")     # doctest: +SKIP
    >>> report.ok                                          # doctest: +SKIP
    True
    >>> print(report.format())                             # doctest: +SKIP
    data/t81-digits.h5: OK (81 archs x 3 seeds x 20 epochs)

A file is checked for readability and schema version, shapes, completeness (every run done or
failed), the values of done runs (no NaN, accuracies in [0, 1], losses finite and >= 0),
``n_params``, the stored content hash and the ``/archs``, ``/final`` and ``/summary`` arrays
against ``/metrics``. An in-memory `TableData` gets every check that does not need a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_tools.exceptions import DataNotFoundError, TableFormatError
from nasbench_tools.table.data import TableData
from nasbench_tools.table.hdf5 import DerivedArrays, derive, read_stored_derived, read_table
from nasbench_tools.table.schema import STORED_METRICS, Status

#: How many example (arch, seed) ids a problem line lists.
MAX_EXAMPLES = 5

_DERIVED_PATHS = {
    "final_valid_err": "/final/valid_err",
    "final_test_err": "/final/test_err",
    "valid_err_mean": "/summary/valid_err_mean",
    "test_err_mean": "/summary/test_err_mean",
}


@dataclass(frozen=True)
class ValidationReport:
    """The problems found in one table (empty when it is fine)."""

    problems: tuple[str, ...]
    source: str = "<in-memory table>"
    shape: tuple[int, int, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        """Readable report: a headline, then one line per problem."""
        size = ""
        if self.shape is not None:
            n, s, t = self.shape
            size = f" ({n} archs x {s} seeds x {t} epochs)"
        if self.ok:
            return f"{self.source}: OK{size}"
        head = f"{self.source}: {len(self.problems)} problem(s){size}"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


def validate_table(path_or_data: str | Path | TableData) -> ValidationReport:
    """Validate a table file or an in-memory `TableData`."""
    stored: DerivedArrays | None = None
    if isinstance(path_or_data, TableData):
        data, source = path_or_data, "<in-memory table>"
    else:
        source = str(path_or_data)
        try:
            data = read_table(path_or_data)
            stored = read_stored_derived(path_or_data)
        except (TableFormatError, DataNotFoundError) as exc:
            return ValidationReport(problems=(str(exc),), source=source)
    problems = [*_check_shapes(data), *_check_status(data), *_check_values(data)]
    problems += _check_params(data)
    if stored is not None:
        problems += _check_stored(data, stored)
    return ValidationReport(problems=tuple(problems), source=source, shape=data.shape)


def _examples(mask: np.ndarray, seeds: tuple[int, ...]) -> str:
    """``count`` and the first few ``(arch, seed)`` ids where ``mask [arch, seed]`` holds."""
    where = np.argwhere(mask)[:MAX_EXAMPLES]
    ids = ", ".join(f"({int(a)}, {seeds[int(s)]})" for a, s in where)
    more = ", ..." if int(mask.sum()) > MAX_EXAMPLES else ""
    return f"{int(mask.sum())} run(s), e.g. {ids}{more}"


def _check_shapes(data: TableData) -> list[str]:
    n = data.space.size
    problems = []
    for name in ("n_params", "flops"):
        shape = np.shape(getattr(data, name))
        if shape != (n,):
            problems.append(f"{name} has shape {shape}, expected ({n},)")
    if len(set(data.seeds)) != len(data.seeds):
        problems.append(f"seeds repeat a value: {list(data.seeds)}")
    if data.epochs < 1:
        problems.append(f"epochs is {data.epochs}, expected >= 1")
    codes = np.setdiff1d(np.unique(data.status), [s.value for s in Status])
    if codes.size:
        problems.append(f"status holds unknown codes {codes.tolist()} (known: 0..3)")
    return problems


def _check_status(data: TableData) -> list[str]:
    status = np.asarray(data.status)
    unfinished = (status == Status.PENDING) | (status == Status.RUNNING)
    if not unfinished.any():
        return []
    return [f"not finished (pending or running): {_examples(unfinished, data.seeds)}"]


def _check_values(data: TableData) -> list[str]:
    """Values of done runs: no NaN (deterministic metrics), accuracies in [0, 1], losses
    finite and >= 0."""
    done = (np.asarray(data.status) == Status.DONE)[:, :, None]
    problems = []
    for m in STORED_METRICS:
        arr = np.asarray(data.metrics[m], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            checks = []
            if m.deterministic:
                checks.append(("NaN in a done run", np.isnan(arr)))
            if m.value.endswith("_acc"):
                checks.append(("accuracy outside [0, 1]", (arr < 0) | (arr > 1)))
            if m.value.endswith("_loss"):
                checks.append(("negative or infinite loss", (arr < 0) | np.isinf(arr)))
        for what, bad in checks:
            runs = (bad & done).any(axis=2)
            if runs.any():
                problems.append(f"{m.value}: {what}: {_examples(runs, data.seeds)}")
    return problems


def _check_params(data: TableData) -> list[str]:
    has_done = (np.asarray(data.status) == Status.DONE).any(axis=1)
    params = np.asarray(data.n_params)
    if params.shape != has_done.shape:
        return []  # reported by _check_shapes
    bad = np.flatnonzero(has_done & (params <= 0))
    if not bad.size:
        return []
    shown = ", ".join(str(int(a)) for a in bad[:MAX_EXAMPLES])
    return [f"n_params <= 0 for {bad.size} arch(s) with a done run, e.g. {shown}"]


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-4, equal_nan=True))


def _check_stored(data: TableData, stored: DerivedArrays) -> list[str]:
    want = derive(data)
    problems = []
    if stored.content_sha256 != want.content_sha256:
        problems.append(
            f"content_sha256 is {stored.content_sha256[:16]}..., but the metrics and status "
            f"hash to {want.content_sha256[:16]}..."
        )
    enc = np.asarray(stored.encoding)
    if enc.shape != want.encoding.shape or not np.array_equal(enc, want.encoding):
        problems.append("/archs/encoding does not match the space's id order")
    if stored.genotype != want.genotype:
        problems.append("/archs/genotype does not match the space's genotypes")
    for name, where in _DERIVED_PATHS.items():
        if not _same(getattr(stored, name), getattr(want, name)):
            problems.append(f"{where} does not agree with /metrics and /status")
    same_min = _same(stored.test_err_min, want.test_err_min)
    if stored.argmin != want.argmin or not same_min:
        problems.append(
            f"/summary attrs argmin={stored.argmin}, test_err_min={stored.test_err_min:.4f} "
            f"disagree with /metrics (argmin={want.argmin}, test_err_min={want.test_err_min:.4f})"
        )
    return problems
