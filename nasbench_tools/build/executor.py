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
from collections.abc import Iterator, Sequence

from nasbench_tools.parallel import map_unordered
from nasbench_tools.spaces import CellSpace
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult
from nasbench_tools.train.task import Task


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
    from nasbench_tools.train.trainer import protocol_data, train_group

    if not fuse:
        return train_group(tasks, space, protocol, device=device, data_root=data_root,
                           deadline=deadline)
    from nasbench_tools.train.fused_trainer import train_fused

    data = protocol_data(protocol, device, data_root=data_root)
    checkpoint = None
    if checkpoint_dir is not None:
        key = hashlib.sha256(repr([(t.arch, t.seed) for t in tasks]).encode()).hexdigest()
        checkpoint = f"{checkpoint_dir}/seed{tasks[0].seed}-{key[:16]}.pt"
    return train_fused(tasks, space, protocol, device=device, data=data,
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
