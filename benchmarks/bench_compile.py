"""What `build-table --compile` costs, and how often it is paid.

Trains three fused groups (seeds 0, 1, 2; same archs, so same shapes) one after another in one
process, as one build worker does, and reports each group's wall time: eager; compiled with an
empty inductor cache (a first build); compiled with the cache the previous run left (a resumed
or repeated build). Each way runs in fresh processes, ``--repeats`` times; medians.

    python benchmarks/bench_compile.py                 # CPU, digits, 9 archs, L=2, C=4
    python benchmarks/bench_compile.py --device cuda --archs 81 --set layers=8 --set channels=16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def child(args: argparse.Namespace) -> None:
    from nasbench_tools.config import parse_assignments
    from nasbench_tools.spaces import get_space
    from nasbench_tools.train import get_protocol
    from nasbench_tools.train.fused_trainer import train_fused
    from nasbench_tools.train.task import Task

    space = get_space("t81")
    protocol = get_protocol(args.dataset, args.preset, parse_assignments(args.set or []))
    times = []
    for seed in range(args.groups):
        t0 = time.perf_counter()
        train_fused([Task(arch=a, seed=seed) for a in range(args.archs)], space, protocol,
                    device=args.device, compile_mode=args.mode or None)
        times.append(time.perf_counter() - t0)
    print(json.dumps(times))


def run(argv: list[str], mode: str, cache: str) -> list[float]:
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, __file__, *argv, "--child", "--mode", mode],
                         env=env, check=True, capture_output=True, text=True).stdout
    return [float(v) for v in json.loads(out.strip().splitlines()[-1])]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="protocol override (default: epochs=1 layers=2 channels=4)")
    ap.add_argument("--archs", type=int, default=9)
    ap.add_argument("--groups", type=int, default=3)
    ap.add_argument("--compile", default="default", help="torch.compile mode (default)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.set is None:
        args.set = ["epochs=1", "layers=2", "channels=4"]
    if args.child:
        child(args)
        return
    argv = ["--device", args.device, "--dataset", args.dataset, "--preset", args.preset,
            "--archs", str(args.archs), "--groups", str(args.groups)]
    for kv in args.set:
        argv += ["--set", kv]
    results: dict[str, list[list[float]]] = {"eager": [], "compiled, empty cache": [],
                                             "compiled, warm cache": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            results["eager"].append(run(argv, "", cache))
            results["compiled, empty cache"].append(run(argv, args.compile, cache))
            results["compiled, warm cache"].append(run(argv, args.compile, cache))
    print(f"device {args.device}; {args.archs} archs fused, {args.groups} groups per process, "
          f"{' '.join(args.set)}; torch.compile mode {args.compile}; medians of {args.repeats}")
    print("| way | " + " | ".join(f"group {g + 1}" for g in range(args.groups)) + " |")
    print("|---|" + "---|" * args.groups)
    for way, runs in results.items():
        cells = [f"{statistics.median(r[g] for r in runs):.1f} s" for g in range(args.groups)]
        print(f"| {way} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
