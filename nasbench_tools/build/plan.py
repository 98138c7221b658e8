"""The task plan of a build: every (arch, seed) pair, sorted, optionally one shard of it.

>>> from nasbench_tools.build.plan import make_plan, parse_shard
>>> plan = make_plan(4, (0, 1), shard=parse_shard("1/2"))
>>> [(t.arch, t.seed) for t in plan]
[(1, 0), (3, 0), (1, 1), (3, 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.train.task import Task


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: tasks ``index, index + count, ...`` of the sorted plan."""

    index: int = 0
    count: int = 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


#: The whole plan (shard 0 of 1).
WHOLE = Shard()


def parse_shard(text: str | None) -> Shard:
    """``"i/n"`` with ``0 <= i < n`` -> `Shard`."""
    if text is None:
        return WHOLE
    parts = str(text).split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"malformed shard {text!r}; expected i/n with 0 <= i < n, e.g. 0/4")
    index, count = int(parts[0]), int(parts[1])
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"malformed shard {text!r}; expected i/n with 0 <= i < n, e.g. 0/4")
    return Shard(index, count)


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``"90"`` (seconds), ``"90s"``, ``"50m"`` or ``"1.5h"`` -> seconds (> 0).

    >>> parse_duration("50m"), parse_duration("1.5h"), parse_duration("20")
    (3000.0, 5400.0, 20.0)
    """
    raw = str(text).strip().lower()
    scale = _UNITS.get(raw[-1:], None) if raw else None
    try:
        seconds = float(raw[:-1] if scale else raw) * (scale or 1.0)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"malformed duration {text!r}; expected a positive number of seconds "
                          "or e.g. 90s, 50m, 1.5h")
    return seconds


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0,1,2"`` or ``"0-4"`` (inclusive) or a mix, -> sorted unique seeds."""
    seeds: set[int] = set()
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                if int(hi) < int(lo):
                    raise ValueError
                seeds.update(range(int(lo), int(hi) + 1))
            else:
                seeds.add(int(part))
    except ValueError:
        raise ConfigError(f"malformed seeds {text!r}; expected e.g. 0,1,2 or 0-4") from None
    if any(s < 0 for s in seeds):
        raise ConfigError(f"seeds must be >= 0, got {text!r}")
    return tuple(sorted(seeds))


def make_plan(n_archs: int, seeds: Sequence[int], *, shard: Shard = WHOLE) -> list[Task]:
    """All tasks sorted by (seed, arch), then every ``count``-th one starting at ``index``.

    Seed-major order means an interrupted build has complete seeds first, and a group of
    consecutive tasks shares its data order (the fused trainer's common random numbers).
    """
    tasks = [Task(arch, seed) for seed in sorted(seeds) for arch in range(n_archs)]
    return tasks[shard.index::shard.count]
