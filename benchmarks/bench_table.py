"""Table load and query speed on a shipped table.

    python benchmarks/bench_table.py data/t81-digits.h5

Prints a Markdown table: median (and min) of several repetitions per operation.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from nasbench_tools.table import Benchmark, Metric


def timed(fn: Callable[[], object], *, number: int, repeat: int) -> list[float]:
    """Seconds per call, for ``repeat`` batches of ``number`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - start) / number)
    return out


def main(path: str) -> None:
    bench = Benchmark.open(path)
    ids = np.arange(bench.n_archs)
    genotype = bench.space.genotype(bench.space.arch(17))
    many = np.random.default_rng(0).integers(0, bench.n_archs, 100_000)
    fresh = Benchmark.open(path)  # the first call on a fresh object fills its caches
    start = time.perf_counter()
    fresh.query(many, Metric.TEST_ERR)
    first_call = time.perf_counter() - start
    cases: list[tuple[str, Callable[[], object], int]] = [
        ("Benchmark.open (whole file into memory)", lambda: Benchmark.open(path), 20),
        ("query(id) -> float", lambda: bench.query(17, Metric.TEST_ERR), 2000),
        ("query(genotype) -> float", lambda: bench.query(genotype, Metric.TEST_ERR), 2000),
        (f"query(all {len(ids)} ids) -> array", lambda: bench.query(ids, Metric.TEST_ERR), 2000),
        (f"{len(ids)} single queries in a loop",
         lambda: [bench.query(int(i), Metric.TEST_ERR) for i in ids], 50),
        ("regret(id)", lambda: bench.regret(17), 2000),
        ("query(1e5 ids) -> array", lambda: bench.query(many, Metric.TEST_ERR), 20),
        ("to_frame()", bench.to_frame, 5),
    ]
    print(f"table: {path} ({bench.n_archs} archs x {len(bench.seeds)} seeds x {bench.epochs} "
          "epochs)\n")
    print("| operation | median | min | repeats x calls |")
    print("| --- | --- | --- | --- |")
    for name, fn, number in cases:
        fn()  # warm caches
        runs = timed(fn, number=number, repeat=7)
        print(f"| {name} | {_fmt(statistics.median(runs))} | {_fmt(min(runs))} | 7 x {number} |")
    print(f"| query(1e5 ids), first call on a freshly opened table | {_fmt(first_call)} | - | 1 |")


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/t81-digits.h5")
