"""How long ``nasbench-tools report`` takes on a study-sized set of traces.

    python benchmarks/bench_report.py --traces 50 --repeats 3

Writes N synthetic traces (`nasbench_tools.search.synthetic`, 50 epochs, an eigenvalue every
epoch as the digits preset computes it) on the shipped ``data/t81-digits.h5``, a third each of
DARTS, DARTS-ES and an R-DARTS(L2) grid, then times the whole command in a fresh process
(imports included) and its parts in this one. Prints a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nasbench_tools.search.synthetic import synthetic_trace
from nasbench_tools.table import Benchmark

TABLE = "data/t81-digits.h5"
METHODS = ("darts", "darts-es", "rdarts-l2")


def write_traces(folder: Path, n: int, epochs: int) -> None:
    bench = Benchmark.open(TABLE)
    rng = np.random.default_rng(0)
    for i in range(n):
        method = METHODS[i % len(METHODS)]
        params = {"weight_decay": 3e-4 * 3 ** (i % 5)} if method == "rdarts-l2" else None
        lambdas = 0.3 + 0.02 * np.arange(epochs) + 0.05 * rng.standard_normal(epochs)
        synthetic_trace(bench, method=method, seed=i, epochs=epochs, table=TABLE,
                        archs=rng.integers(0, bench.n_archs, epochs), lambdas=lambdas,
                        params=params).save(folder / f"{method}-s{i}.h5")


def time_command(folder: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nasbench_tools", "report", str(folder), "--out",
                    str(out), "--overwrite", "--quiet"], check=True, capture_output=True)
    return time.perf_counter() - start


def time_parts(folder: Path, out: Path) -> dict[str, float]:
    from nasbench_tools.report.figures import draw_figures
    from nasbench_tools.stats import default_correlations, load_runs

    t0 = time.perf_counter()
    runs = load_runs(folder)
    runs.runs_frame(), runs.epochs_frame()
    t1 = time.perf_counter()
    family = default_correlations(runs)
    t2 = time.perf_counter()
    out.mkdir(exist_ok=True)
    draw_figures(runs, family, out)
    t3 = time.perf_counter()
    return {"load traces, build frames": t1 - t0, "correlations (all levels)": t2 - t1,
            "figures (PNG + PDF)": t3 - t2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        (work / "traces").mkdir()
        write_traces(work / "traces", args.traces, args.epochs)
        whole = [time_command(work / "traces", work / "report") for _ in range(args.repeats)]
        parts = [time_parts(work / "traces", work / "parts") for _ in range(args.repeats)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.traces} traces x {args.epochs} epochs on {TABLE}; medians of "
          f"{args.repeats}\n")
    print("| step | median | all runs (s) |")
    print("| --- | --- | --- |")
    print(f"| `nasbench-tools report` (fresh process) | {statistics.median(whole):.1f} s | "
          f"{', '.join(f'{t:.1f}' for t in whole)} |")
    for name in parts[0]:
        values = [p[name] for p in parts]
        print(f"| {name} | {statistics.median(values):.1f} s | "
              f"{', '.join(f'{t:.1f}' for t in values)} |")


if __name__ == "__main__":
    main()
