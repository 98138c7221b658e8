"""Combine the tables of independent builds into one table: shards of one build, or builds of
other seeds (seed 0 now, seeds 1-2 later).

>>> merge_tables(["t81.shard0.h5", "t81.shard1.h5"], "t81.h5")   # doctest: +SKIP
>>> merge_tables(["t81-seed0.h5", "t81-seeds1-2.h5"], "t81.h5")   # doctest: +SKIP

All inputs must share space, dataset, protocol and epochs; the output's seeds are all the
inputs' seeds, sorted. A run finished in two inputs must have identical numbers in both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from nasbench_tools.build.compile import fill_result, results_from_table
from nasbench_tools.exceptions import BuildMismatchError, ConfigError
from nasbench_tools.table.data import TableData
from nasbench_tools.table.hdf5 import read_table, write_table
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult


def merge_tables(inputs: Sequence[str | Path], out: str | Path) -> TableData:
    """Merge ``inputs`` into ``out`` (written atomically; inputs are only read)."""
    if not inputs:
        raise ConfigError("merge needs at least one input table")
    if Path(out).resolve() in {Path(p).resolve() for p in inputs}:
        raise ConfigError(f"merge output {str(out)!r} is also an input; choose another path")
    tables = [read_table(p) for p in inputs]
    first = tables[0]
    for path, t in zip(inputs[1:], tables[1:], strict=True):
        _check_compatible(first, t, path)
    attrs = {**first.attrs, "shard": "merged",
             "merged_from": json.dumps([Path(p).name for p in inputs])}
    seeds = tuple(sorted({s for t in tables for s in t.seeds}))
    merged = TableData.empty(first.space, first.dataset, first.protocol_record, seeds,
                             first.epochs, attrs)
    seen: dict[tuple[int, int], RunResult] = {}
    for path, t in zip(inputs, tables, strict=True):
        for r in results_from_table(t):
            if r.key in seen and not seen[r.key].same_numbers(r):
                raise BuildMismatchError(
                    f"run (arch {r.arch}, seed {r.seed}) differs between inputs ({path})"
                )
            seen[r.key] = r
            fill_result(merged, r, seeds.index(r.seed))
    write_table(merged, out)
    return merged


def _check_compatible(a: TableData, b: TableData, path: str | Path) -> None:
    checks = {
        "space": (a.space, b.space),
        "dataset": (a.dataset, b.dataset),
        "protocol": tuple(Protocol.canonical(t.protocol_record) for t in (a, b)),
        "epochs": (a.epochs, b.epochs),
    }
    differing = [k for k, (x, y) in checks.items() if x != y]
    if differing:
        raise BuildMismatchError(f"{str(path)!r} has a different {', '.join(differing)} "
                                 "from the first input; only tables of one space, dataset, "
                                 "protocol and epochs can be merged")
