"""Several searches that go on across sessions: each (method, seed) resumes from its own
checkpoint, every worker stops starting epochs at a common wall-clock time, and this process
alone writes the traces: ``NAME.h5`` for a finished search, ``NAME.partial.h5`` (the epochs so
far) for one the time limit stopped, which the next call continues.

    summary = run_study([SearchSpec("fairdarts", 0), SearchSpec("fairdarts-dscd", 0)],
                        "data/t81-none-digits.h5", "data/long-searches",
                        overrides={"epochs": 500}, jobs=2, time_limit=3600)
    print(summary.format())
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasbench_tools.parallel import map_unordered
from nasbench_tools.search.checkpoint import checkpoint_path
from nasbench_tools.search.trace import SearchTrace


@dataclass(frozen=True)
class SearchSpec:
    """One search of a study: method, seed and the method's parameters."""

    method: str
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        tags = "".join(f"-{k}{v:g}" if isinstance(v, float) else f"-{k}{v}"
                       for k, v in sorted(self.params.items()))
        return f"{self.method}{tags}-s{self.seed}"


@dataclass(frozen=True)
class StudySummary:
    """Per search: its name, epochs trained so far and whether it finished."""

    runs: tuple[tuple[str, int, bool], ...]

    @property
    def finished(self) -> bool:
        return all(done for _, _, done in self.runs)

    def format(self) -> str:
        return "\n".join(f"{name}: {n} epoch(s) trained, {'finished' if done else 'to go on'}"
                         for name, n, done in self.runs)


def study_worker(method: str, table: str, seed: int, params: Mapping[str, Any],
                 overrides: Mapping[str, Any], device: str, checkpoint: str,
                 stop_at: float | None, data_root: str | None = None
                 ) -> tuple[str, SearchTrace]:
    """One search up to the wall-clock time ``stop_at`` (module level, for joblib and Dask)."""
    from nasbench_tools.search.engine import run_search

    deadline = None if stop_at is None else time.monotonic() + (stop_at - time.time())
    trace = run_search(method, table, seed=seed, device=device, overrides=overrides,
                       params=params, checkpoint=checkpoint, deadline=deadline,
                       data_root=data_root)
    return checkpoint, trace


def run_study(specs: Sequence[SearchSpec], table: str | Path, out_dir: str | Path, *,
              overrides: Mapping[str, Any] | None = None, device: str = "auto", jobs: int = 1,
              scheduler: str | None = None, time_limit: float | None = None,
              data_root: str | None = None,
              progress: Callable[[str], None] | None = None) -> StudySummary:
    """Run (or go on with) every search of ``specs`` whose finished trace is not in
    ``out_dir`` yet; stop starting epochs ``time_limit`` seconds from now. ``data_root``:
    where the table's dataset files are, when the table's data is not built in."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stop_at = None if time_limit is None else time.time() + time_limit
    paths = {s.name: out / f"{s.name}.h5" for s in specs}
    calls = [(s.method, str(table), s.seed, dict(s.params), dict(overrides or {}), device,
              str(checkpoint_path(paths[s.name])), stop_at, data_root)
             for s in specs if not paths[s.name].exists()]
    for ckpt, trace in map_unordered(study_worker, calls, jobs=jobs, scheduler=scheduler):
        final = Path(ckpt[: -len(".ckpt")])
        partial = final.with_suffix(".partial.h5")
        if trace.finished:
            trace.save(final)
            partial.unlink(missing_ok=True)
            Path(ckpt).unlink(missing_ok=True)
        elif trace.records:
            trace.save(partial)
        if progress is not None:
            progress(f"{final.stem}: {len(trace.records)} epoch(s)"
                     + ("" if trace.finished else " so far"))
    return study_status(specs, out)


def study_status(specs: Sequence[SearchSpec], out_dir: str | Path) -> StudySummary:
    """Where the searches of ``specs`` stand in ``out_dir``, without running anything (the
    epochs of an unfinished search are those of its partial trace, written when a call of
    `run_study` ends)."""
    out = Path(out_dir)
    return StudySummary(tuple(_status(s.name, out / f"{s.name}.h5") for s in specs))


def _status(name: str, path: Path) -> tuple[str, int, bool]:
    if path.exists():
        return name, len(SearchTrace.load(path).records), True
    partial = path.with_suffix(".partial.h5")
    return name, len(SearchTrace.load(partial).records) if partial.exists() else 0, False
