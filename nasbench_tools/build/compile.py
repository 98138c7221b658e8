"""Journal -> `TableData`, and the header that identifies a build.

The table is always recompiled from the journal, so its content depends only on the recorded
results, never on the order in which workers finished.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from nasbench_tools.build.journal import Journal
from nasbench_tools.build.plan import Shard, make_plan
from nasbench_tools.spaces import CellSpace
from nasbench_tools.table.data import TableData
from nasbench_tools.table.schema import STORED_METRICS, Status
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult


def output_header(space: CellSpace, protocol: Protocol, seeds: tuple[int, ...], shard: Shard
                  ) -> dict[str, Any]:
    """What must match between a journal, an existing output and a new build call."""
    return {
        "space": space.identity(),
        "dataset": protocol.dataset,
        "protocol": protocol.to_dict(),
        "seeds": list(seeds),
        "shard": str(shard),
    }


def compile_table(journal: Journal, space: CellSpace, protocol: Protocol, seeds: tuple[int, ...],
                  shard: Shard, *, device: str, data_root: str | None = None,
                  engine: str = "separate") -> TableData:
    """The table of every result in ``journal``; tasks of the plan without one are running
    (handed out, unfinished) or pending."""
    from nasbench_tools.data.source import data_provenance
    from nasbench_tools.runtime import environment

    attrs: dict[str, Any] = {
        **environment(),
        "device": device,
        "engine": engine,
        "shard": str(shard),
        **data_provenance(protocol.split, data_root=data_root),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    table = TableData.empty(space, protocol.dataset, protocol.to_dict(), seeds, protocol.epochs,
                            attrs)
    seed_pos = {s: i for i, s in enumerate(seeds)}
    started = {(a, s) for kind, a, s in journal.events if kind == "start"}
    for task in make_plan(space.size, seeds, shard=shard):
        if (task.arch, task.seed) in started:
            table.status[task.arch, seed_pos[task.seed]] = Status.RUNNING
    for (_, seed), result in journal.results.items():
        if seed in seed_pos:
            fill_result(table, result, seed_pos[seed])
    return table


def fill_result(table: TableData, result: RunResult, seed_index: int) -> None:
    """Copy one run into the (mutable) arrays of ``table``."""
    for m in STORED_METRICS:
        table.metrics[m][result.arch, seed_index] = result.metrics[m]
    table.status[result.arch, seed_index] = result.status
    table.reasons[result.arch, seed_index] = result.reason
    table.n_params[result.arch] = result.n_params
    table.flops[result.arch] = result.flops


def results_from_table(table: TableData) -> list[RunResult]:
    """The finished (done or failed) runs of a table, as results."""
    out = []
    done = np.isin(table.status, (Status.DONE, Status.FAILED))
    for arch, si in zip(*np.nonzero(done), strict=True):
        out.append(RunResult(
            arch=int(arch), seed=int(table.seeds[si]), status=Status(int(table.status[arch, si])),
            metrics={m: table.metrics[m][arch, si].copy() for m in STORED_METRICS},
            n_params=int(table.n_params[arch]), flops=int(table.flops[arch]),
            reason=str(table.reasons[arch, si]), device=str(table.attrs.get("device", "cpu")),
        ))
    return out
