"""The generic parallel map of the toolkit: table builds, search grids, studies and benchmarks
fan their calls out through it, and only the calling process writes results.

Three back ends, all yielding results in completion order: this process (``jobs=1``, exact and
easy to debug), joblib's loky processes (``jobs=N``) on this machine, or an existing Dask
cluster (``scheduler="tcp://host:port"``, e.g. one started by dask-jobqueue on SLURM). The
scheduling is the engines'; none of our own.

>>> sorted(map_unordered(pow, [(2, 3), (3, 2)]))
[8, 9]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from nasbench_tools.exceptions import ConfigError

R = TypeVar("R")


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
