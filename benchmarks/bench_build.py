"""Build throughput (arch-epochs per second) with 1 and 2 local workers on digits.

    python benchmarks/bench_build.py --space t16 --preset quick --repeat 3

Each repetition builds the whole space with seed 0 into a fresh temporary file (journal, table
and all), so the figure includes worker start-up, data loading and the table write.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from nasbench_tools.build import build_table
from nasbench_tools.spaces import get_space
from nasbench_tools.train import get_protocol


def one_build(space: str, preset: str, jobs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build_table(get_space(space), get_protocol("digits", preset), (0,), Path(tmp) / "t.h5",
                    jobs=jobs, device="cpu", progress=False)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--space", default="t16")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", default="1,2")
    args = parser.parse_args()
    space, protocol = get_space(args.space), get_protocol("digits", args.preset)
    arch_epochs = space.size * protocol.epochs
    rows = []
    for jobs in (int(j) for j in args.jobs.split(",")):
        walls = [one_build(args.space, args.preset, jobs) for _ in range(args.repeat)]
        rows.append((jobs, statistics.median(walls), walls))
    base = rows[0][1]
    print(f"{args.space} ({space.size} archs) x 1 seed, digits/{args.preset} "
          f"({protocol.epochs} epochs): {arch_epochs} arch-epochs per build\n")
    print("| workers | median wall | arch-epochs/s | speed-up vs 1 | all runs (s) |")
    print("| --- | --- | --- | --- | --- |")
    for jobs, wall, walls in rows:
        print(f"| {jobs} | {wall:.1f} s | {arch_epochs / wall:.2f} | {base / wall:.2f}x | "
              f"{', '.join(f'{w:.1f}' for w in walls)} |")


if __name__ == "__main__":
    main()
