"""Run groups of tasks on workers and hand the results back to the (single) writing parent.

Three back ends, all yielding one group's results at a time in completion order:
- in-process (``jobs=1``), for debugging and exact single-process runs;
- joblib's loky processes (``jobs=N``) on this machine;
- an existing Dask cluster (``scheduler="tcp://host:port"``), e.g. started by dask-jobqueue
  on SLURM. No scheduling logic of our own: the engines do it.

Workers only compute; they never touch the journal or the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.spaces import CellSpace
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult
from nasbench_tools.train.task import Task

R = TypeVar("R")


def run_group(tasks: Sequence[Task], space: CellSpace, protocol: Protocol, device: str,
              data_root: str | None, fuse: bool = False, compile_mode: str | None = None,
              checkpoint_dir: str | None = None, deadline: float | None = None
              ) -> list[RunResult]:
    """Worker entry point (importable by name, so loky and Dask workers can unpickle it).
    ``fuse=True`` trains the group (tasks of one seed) as one fused network, compiled with
    ``compile_mode`` if given, with a per-epoch checkpoint in ``checkpoint_dir`` (named by
    the group's tasks; on a cluster the directory must be on a shared file system). After
    ``deadline`` (``time.time()``) no run starts and a fused group stops after its epoch; the
    results returned are those of the finished runs only."""
    from nasbench_tools.train.trainer import device_data, train_group

    if not fuse:
        return train_group(tasks, space, protocol, device=device, data_root=data_root,
                           deadline=deadline)
    from nasbench_tools.train.fused_trainer import train_fused

    data = device_data(protocol, device, data_root=data_root)
    checkpoint = None
    if checkpoint_dir is not None:
        key = hashlib.sha256(repr([(t.arch, t.seed) for t in tasks]).encode()).hexdigest()
        checkpoint = f"{checkpoint_dir}/seed{tasks[0].seed}-{key[:16]}.pt"
    return train_fused(space, tasks, protocol, device=device, data=data,
                       compile_mode=compile_mode, checkpoint=checkpoint, deadline=deadline)


def run_groups(
    groups: Sequence[Sequence[Task]], space: CellSpace, protocol: Protocol, *, device: str,
    jobs: int = 1, scheduler: str | None = None, data_root: str | None = None,
    fuse: bool = False, compile_mode: str | None = None, checkpoint_dir: str | None = None,
    deadline: float | None = None,
) -> Iterator[list[RunResult]]:
    """Yield the results of every group, in completion order."""
    calls = [(list(group), space, protocol, device, data_root, fuse, compile_mode,
              checkpoint_dir, deadline) for group in groups]
    yield from map_unordered(run_group, calls, jobs=jobs, scheduler=scheduler)


def map_unordered(fn: Callable[..., R], calls: Sequence[tuple[Any, ...]], *, jobs: int = 1,
                  scheduler: str | None = None) -> Iterator[R]:
    """``fn(*args)`` for every ``args`` in ``calls``, yielded in completion order: in this
    process (``jobs=1``), on ``jobs`` loky processes, or on the Dask cluster at ``scheduler``.
    ``fn`` must be importable by name (a module-level function)."""
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    if scheduler is not None:
        yield from _dask(fn, calls, scheduler)
    elif jobs == 1:
        for args in calls:
            yield fn(*args)
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered",
                            batch_size=1, pre_dispatch="2*n_jobs")
        yield from parallel(delayed(fn)(*args) for args in calls)


def _dask(fn: Callable[..., R], calls: Sequence[tuple[Any, ...]], scheduler: str
          ) -> Iterator[R]:
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
        futures = [client.submit(fn, *args, pure=False) for args in calls]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
