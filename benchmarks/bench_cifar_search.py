"""A CIFAR-10 search epoch before and after the CPU levers, on the shipped L=8 table.

    python benchmarks/bench_cifar_search.py --epochs 3 --data-root PATH/cifar10-jpeg.h5

Runs DARTS (seed 0, the cifar10-jpeg preset: 80 steps per epoch) for ``--epochs`` epochs under
two settings, with 1 and with 2 threads, and two one-thread searches side by side:

- ``before``: the standard memory layout, evaluation batches of 256, the one-shot and
  discretised errors on all 2,500 half-B images, the Hessian's rows in one vectorised pass;
- ``after``: the preset (channels-last, evaluation batches of 128, the Hessian row by row) with
  ``eval_subset=1000``.

The Hessian is computed at the even epochs (and the last): epochs 0 and 2 time the analysis
with it, epoch 1 without; the study computes it every 2nd epoch, and the table shows that
amortised analysis (no-Hessian analysis plus half the Hessian's extra cost) next to the
medians. ``--epochs`` must be odd and at least 3. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

from nasbench_tools.parallel import map_unordered
from nasbench_tools.search.engine import run_search

TABLE = "data/t81-cifar10-cpu-l8.h5"
SETTINGS: dict[str, dict[str, Any]] = {
    "before": {"memory_format": "contiguous", "eval_batch_size": 256},
    "after": {"eval_subset": 1000},
}


def one_search(setting: str, threads: int, epochs: int, data_root: str | None
               ) -> dict[str, float]:
    """Per-epoch medians of one search: training, analysis with and without the Hessian."""
    overrides = {**SETTINGS[setting], "epochs": epochs, "threads": threads, "hessian_every": 2}
    start = time.perf_counter()
    trace = run_search("darts", TABLE, seed=0, device="cpu", overrides=overrides,
                       data_root=data_root)
    total = time.perf_counter() - start
    records = trace.records
    train = statistics.median(r.wall_time for r in records)
    with_h = statistics.median(r.analysis_time for r in records if r.epoch % 2 == 0)
    without_h = statistics.median(r.analysis_time for r in records if r.epoch % 2 == 1)
    return {"train": train, "analysis_h": with_h, "analysis": without_h,
            "amortised": without_h + 0.5 * (with_h - without_h), "total": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--data-root", default=os.environ.get("NASBENCH_CIFAR10_JPEG"))
    args = ap.parse_args()
    if args.epochs < 3 or args.epochs % 2 == 0:
        ap.error(f"--epochs {args.epochs}: use an odd number >= 3")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"DARTS seed 0, {args.epochs} epochs per row\n")
    print("| setting | threads | searches at once | training / epoch | analysis (no Hessian) "
          "| analysis (Hessian) | epoch, Hessian every 2nd | analysis share |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = [("before", 1), ("after", 1), ("before", 2), ("after", 2)]
    for setting, threads in rows:
        r = one_search(setting, threads, args.epochs, args.data_root)
        _print(setting, threads, 1, r)
    pair = list(map_unordered(one_search, [("after", 1, args.epochs, args.data_root)] * 2,
                              jobs=2))
    for r in pair:
        _print("after", 1, 2, r)


def _print(setting: str, threads: int, together: int, r: dict[str, float]) -> None:
    epoch = r["train"] + r["amortised"]
    print(f"| {setting} | {threads} | {together} | {r['train']:.1f} s | {r['analysis']:.1f} s "
          f"| {r['analysis_h']:.1f} s | {epoch:.1f} s | {100 * r['amortised'] / epoch:.0f} % |",
          flush=True)


if __name__ == "__main__":
    main()
