"""Run groups of tasks on workers and hand the results back to the (single) writing parent.

Three back ends, all yielding one group's results at a time in completion order:
- in-process (``jobs=1``), for debugging and exact single-process runs;
- joblib's loky processes (``jobs=N``) on this machine;
- an existing Dask cluster (``scheduler="tcp://host:port"``), e.g. started by dask-jobqueue
  on SLURM. No scheduling logic of our own: the engines do it.

Workers only compute; they never touch the journal or the table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.spaces import CellSpace
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult
from nasbench_tools.train.task import Task


def run_group(tasks: Sequence[Task], space: CellSpace, protocol: Protocol, device: str,
              data_root: str | None) -> list[RunResult]:
    """Worker entry point (importable by name, so loky and Dask workers can unpickle it)."""
    from nasbench_tools.train.trainer import train_group

    return train_group(tasks, space, protocol, device=device, data_root=data_root)


def run_groups(
    groups: Sequence[Sequence[Task]], space: CellSpace, protocol: Protocol, *, device: str,
    jobs: int = 1, scheduler: str | None = None, data_root: str | None = None,
) -> Iterator[list[RunResult]]:
    """Yield the results of every group, in completion order."""
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    args: tuple[Any, ...] = (space, protocol, device, data_root)
    if scheduler is not None:
        yield from _dask(groups, args, scheduler)
    elif jobs == 1:
        for group in groups:
            yield run_group(group, *args)
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered",
                            batch_size=1, pre_dispatch="2*n_jobs")
        yield from parallel(delayed(run_group)(group, *args) for group in groups)


def _dask(groups: Sequence[Sequence[Task]], args: tuple[Any, ...], scheduler: str
          ) -> Iterator[list[RunResult]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError(
            "--scheduler needs dask.distributed: pip install 'nasbench-tools[dask]'"
        ) from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach Dask scheduler {scheduler!r}: {exc}") from None
    try:
        futures = [client.submit(run_group, list(g), *args, pure=False) for g in groups]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
