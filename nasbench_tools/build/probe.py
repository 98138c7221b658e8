"""Retrain some architectures of a table under its protocol with more epochs, resumably: the runs
go to a build journal whose header names the space, the longer protocol, the seed and the
table, so a stopped probe goes on where it stopped and a journal of another probe is refused.

    bench = Benchmark.open("data/t81-cifar10-cpu-l8.h5")
    protocol = longer_protocol(bench, 30)
    with Journal.open("probe.journal", probe_header(bench, protocol, 0)) as journal:
        todo = [Task(a, 0) for a in (56, 69, 0) if (a, 0) not in journal.results]
        for result in retrain(journal, bench.space, protocol, todo, jobs=2):
            print(result.arch, result.status.name)    # already in the journal

`nasbench_tools.stats.ProbeResult.from_runs` turns the journal's results into the probe's
numbers; they need no dataset once every run is in the journal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from nasbench_tools.build.executor import run_group
from nasbench_tools.build.journal import Journal
from nasbench_tools.exceptions import ConfigError
from nasbench_tools.parallel import map_unordered
from nasbench_tools.runtime import resolve_device
from nasbench_tools.spaces import CellSpace
from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult
from nasbench_tools.train.task import Task

PROBE_PURPOSE = "longer budget"


def longer_protocol(bench: Benchmark, epochs: int) -> Protocol:
    """The table's protocol with ``epochs`` epochs (its schedule stretched to the new length)."""
    if epochs <= bench.epochs:
        raise ConfigError(f"--epochs {epochs} must exceed the table's {bench.epochs}")
    return dataclasses.replace(bench.protocol, epochs=epochs)


def probe_header(bench: Benchmark, protocol: Protocol, seed: int) -> dict[str, Any]:
    """What a probe journal holds runs of: the table's space, the longer protocol, the seed and
    the probed table (by the content hash of its metrics, as a search trace names it)."""
    return {
        "purpose": PROBE_PURPOSE,
        "space": bench.space.identity(),
        "dataset": protocol.dataset,
        "protocol": protocol.to_dict(),
        "seeds": [seed],
        "table_sha256": bench.content_sha256,
    }


def retrain(journal: Journal, space: CellSpace, protocol: Protocol, tasks: Sequence[Task], *,
            jobs: int = 1, scheduler: str | None = None, device: str = "auto",
            data_root: str | None = None) -> Iterator[RunResult]:
    """Train ``tasks`` (one run each, as `build_table` trains them) on ``jobs`` workers or at a
    Dask ``scheduler``, append each result to ``journal`` as it arrives (in this process only)
    and yield it. Training happens as the iterator is consumed."""
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    device = resolve_device(device)
    journal.append_start(tasks)
    calls = [([t], space, protocol, device, data_root) for t in tasks]
    for results in map_unordered(run_group, calls, jobs=jobs, scheduler=scheduler):
        for r in results:
            journal.append_result(r)
            yield r
