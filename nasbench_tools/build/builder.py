"""`build_table`: train every (arch, seed) of a space and write one HDF5 table.

>>> from nasbench_tools.build import build_table          # doctest: +SKIP
>>> summary = build_table(get_space("t81"), get_protocol("digits", "quick"), (0,),
...                       "t81-quick.h5", jobs=2)
>>> print(summary.line())

The parent process owns the lock, the journal (``<out>.journal``) and the table; workers only
train. Re-running the same call resumes from the journal; a different space, protocol, seeds or
shard for the same output is refused before anything is written.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from nasbench_tools.build.compile import compile_table, output_header
from nasbench_tools.build.executor import run_groups
from nasbench_tools.build.journal import Journal
from nasbench_tools.build.lock import output_lock
from nasbench_tools.build.plan import WHOLE, Shard, make_plan
from nasbench_tools.exceptions import BuildMismatchError, ConfigError
from nasbench_tools.runtime import resolve_device
from nasbench_tools.spaces import CellSpace
from nasbench_tools.spaces.space import without_description
from nasbench_tools.table.hdf5 import read_header, read_table, write_table
from nasbench_tools.table.schema import Status
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.task import Task


@dataclass(frozen=True)
class BuildSummary:
    """What one `build_table` call did."""

    out: Path
    planned: int
    done: int
    failed: int
    resumed: int
    computed: int
    wall_seconds: float

    @property
    def left(self) -> int:
        """Runs of the plan without a result (only after a ``time_limit`` stop)."""
        return self.planned - self.done - self.failed

    @property
    def stopped(self) -> bool:
        """Whether the call stopped at its time limit with runs left."""
        return self.left > 0

    def line(self) -> str:
        text = (f"{self.out}: {self.done} done, {self.failed} failed of {self.planned} runs "
                f"({self.resumed} from the journal, {self.computed - self.left} trained) "
                f"in {self.wall_seconds:.1f} s")
        if self.stopped:
            text += (f"; stopped at the time limit with {self.left} runs left: run the same "
                     "command again to go on")
        return text


def build_table(
    space: CellSpace, protocol: Protocol, seeds: tuple[int, ...], out: str | Path, *,
    jobs: int = 1, scheduler: str | None = None, shard: Shard = WHOLE, device: str = "auto",
    group_size: int = 1, data_root: str | None = None, progress: bool = True,
    fuse: int | None = None, compile_mode: str | None = None, time_limit: float | None = None,
) -> BuildSummary:
    """Build (or resume) the table ``out``; see the module docstring.

    ``fuse=K > 1`` trains up to K architectures of one seed as one fused network per worker
    call (`nasbench_tools.train.fused_trainer`); ``None`` (the default, as ``build-table
    --fuse auto``) picks K = all architectures of the space on a GPU and 1 (no fusion) on the
    CPU. ``group_size`` applies without fusion.
    ``compile_mode`` compiles the fused training step (`train_fused`); it needs fusion. The
    table's ``engine`` attribute records how the last call trained.

    ``time_limit`` (seconds, for wall-time-limited jobs): no run starts and no fused group
    begins another epoch after this much time; finished runs are in the journal and the
    table, a fused group's finished epochs in its checkpoint, and calling again goes on from
    there (the result equals an uninterrupted build bit for bit). ``summary.stopped`` says
    whether runs were left.
    """
    t0 = time.perf_counter()
    if time_limit is not None and not time_limit > 0:
        raise ConfigError(f"time limit must be > 0 seconds, got {time_limit}")
    deadline = None if time_limit is None else time.time() + time_limit  # wall clock: workers
    out = Path(out)
    header = output_header(space, protocol, seeds, shard)
    _check_existing_output(out, header)
    device = resolve_device(device)
    k = resolve_fuse(fuse, device, space.size)
    engine = _engine(k, compile_mode)
    checkpoints = Path(f"{out}.ckpt")  # per-epoch states of unfinished fused groups
    with output_lock(out), Journal.open(f"{out}.journal", header) as journal:
        if out.exists() and not journal.results:
            _adopt_table(out, journal)
        plan = make_plan(space.size, seeds, shard=shard)
        todo = [t for t in plan if (t.arch, t.seed) not in journal.results]
        resumed = len(plan) - len(todo)
        groups = fused_groups(todo, k) if k > 1 else \
            [todo[i:i + group_size] for i in range(0, len(todo), max(group_size, 1))]
        journal.append_start(todo)
        bar = _progress(len(plan), resumed, out.name, progress)
        for results in run_groups(groups, space, protocol, device=device, jobs=jobs,
                                  scheduler=scheduler, data_root=data_root, fuse=k > 1,
                                  compile_mode=compile_mode, checkpoint_dir=str(checkpoints),
                                  deadline=deadline):
            for r in results:
                journal.append_result(r)
            bar.update(len(results))
        bar.close()
        table = compile_table(journal, space, protocol, seeds, shard, device=device,
                              data_root=data_root, engine=engine)
        write_table(table, out)
        planned = {(t.arch, t.seed) for t in plan}
        statuses = [r.status for k, r in journal.results.items() if k in planned]
        if len(statuses) == len(planned):
            shutil.rmtree(checkpoints, ignore_errors=True)
    return BuildSummary(out=out, planned=len(plan), done=statuses.count(Status.DONE),
                        failed=statuses.count(Status.FAILED), resumed=resumed,
                        computed=len(todo), wall_seconds=time.perf_counter() - t0)


def _engine(k: int, compile_mode: str | None) -> str:
    """How runs are trained, for the table's ``engine`` attribute (checked before writing)."""
    if compile_mode is None:
        return "separate" if k == 1 else f"fused K<={k}"
    from nasbench_tools.train.fused_trainer import check_compile_mode

    check_compile_mode(compile_mode)
    if k == 1:
        raise ConfigError(f"--compile {compile_mode} needs a fused build (--fuse K > 1)")
    return f"fused K<={k}, torch.compile {compile_mode}"


def resolve_fuse(fuse: int | None, device: str, n_archs: int) -> int:
    """The fused group size: ``None`` -> every arch on a GPU, 1 on the CPU."""
    if fuse is None:
        return n_archs if device.startswith("cuda") else 1
    if fuse < 1:
        raise ConfigError(f"--fuse must be >= 1 (1: no fusion), got {fuse}")
    return fuse


def fused_groups(tasks: list[Task], k: int) -> list[list[Task]]:
    """Tasks of one seed in chunks of at most ``k``, in plan order (every model of a fused
    group sees its seed's data order)."""
    by_seed: dict[int, list[Task]] = {}
    for t in tasks:
        by_seed.setdefault(t.seed, []).append(t)
    return [ts[i:i + k] for ts in by_seed.values() for i in range(0, len(ts), k)]


def _check_existing_output(out: Path, header: dict[str, object]) -> None:
    """Refuse to touch an output that belongs to another build (read errors propagate)."""
    if not out.exists():
        return
    h = read_header(out)
    found = {"space": without_description(dict(h.space)), "dataset": h.dataset,
             # a table of an older version may lack protocol fields added since
             "protocol": Protocol.canonical(h.protocol_record), "seeds": h.seeds,
             "shard": h.attrs.get("shard")}
    differing = [k for k in ("space", "dataset", "protocol", "seeds", "shard")
                 if _norm(found.get(k)) != _norm(header[k])]
    if differing:
        raise BuildMismatchError(
            f"{str(out)!r} was built with a different {', '.join(differing)}; "
            "choose another --out (the existing file is left as it is)"
        )


def _norm(value: object) -> object:
    """`read_header` decodes JSON and gives seeds as a tuple; the build header has lists."""
    return list(value) if isinstance(value, tuple) else value


def _adopt_table(out: Path, journal: Journal) -> None:
    """The journal was deleted but the table is there: record its finished runs first."""
    from nasbench_tools.build.compile import results_from_table

    for result in results_from_table(read_table(out)):
        journal.append_result(result)


def _progress(total: int, initial: int, name: str, enabled: bool):  # type: ignore[no-untyped-def]
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=f"build {name}", unit="run",
                disable=not enabled, dynamic_ncols=True)


__all__ = ["BuildSummary", "Task", "build_table"]
