"""Side-by-side training throughput of t81 networks, every way of training in one run.

The rows of the table in issue 5, with this project's own code: a reference-style loop (one
eager model, fp32, batches copied from the host), one eager model in bf16 and channels_last,
several such processes sharing the device, one model compiled with CUDA graphs, and all 81
archs fused (`FusedNetwork`) eager, compiled, and compiled with CUDA graphs. Each row runs in
its own process (a fresh device context; the process rows start together and are timed over
the same window). Rates are model-images per second of the whole training step (forward,
backward, gradient clipping per model, SGD with momentum and weight decay), medians over
``--repeats`` windows, synthetic data. The step is the trainers' own (`train_step` of
`nasbench_tools.train.loop`), with the optimiser and clipping of the standard CIFAR-10 protocol.

    python benchmarks/bench_gpu.py                            # CUDA, CIFAR-10 size (L=8, C=16)
    python benchmarks/bench_gpu.py --device cpu --tiny        # a quick check of every CPU row
    python benchmarks/bench_gpu.py --device cpu --size 16 --layers 5 --channels 8 \
        --batch-scale 4 --processes 2                         # the CPU table of the README

Prints a Markdown table to paste into benchmarks/README.md. Compile rows print their first
step (compilation) time separately; it is not in the rate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import torch

from nasbench_tools.nn import Network
from nasbench_tools.nn.fused import FusedNetwork
from nasbench_tools.spaces import get_space
from nasbench_tools.train import get_protocol
from nasbench_tools.train.loop import Forward, sgd, train_step
from nasbench_tools.train.model import FusedModels, ModelGroup, SingleModel


@dataclass(frozen=True)
class Row:
    label: str
    fused: bool = False
    batch: int = 96
    bf16: bool = False
    channels_last: bool = False
    compile: str | None = None
    processes: int = 1
    host_batches: bool = False


def rows(scale: int, cuda: bool, processes: int = 4) -> list[Row]:
    """The table's rows; batches divided by ``scale``; CUDA graph rows only on CUDA."""
    def b(n: int) -> int:
        return max(8, n // scale)

    out = [
        Row("one eager model, fp32, host batches (reference-style)", batch=b(96),
            host_batches=True),
        Row("one eager model, bf16, channels_last", batch=b(256), bf16=True,
            channels_last=True),
        Row(f"{processes} eager processes (each as row 1)", batch=b(256), bf16=True,
            channels_last=True, processes=processes),
        Row("all archs fused, eager, bf16", fused=True, batch=b(128), bf16=True),
        Row("all archs fused, torch.compile, bf16", fused=True, batch=b(128), bf16=True,
            compile="default"),
    ]
    if cuda:
        out[3:3] = [Row("one model, compiled + CUDA graphs, bf16", batch=b(512), bf16=True,
                        compile="reduce-overhead")]
        out.append(Row("all archs fused, compiled + CUDA graphs, bf16", fused=True,
                       batch=b(128), bf16=True, compile="reduce-overhead"))
    return out


def measure(row: Row, args: argparse.Namespace, start_at: float | None) -> dict[str, float]:
    """Time ``row`` in this process; with ``start_at`` the timed windows begin at that wall
    clock time (so several processes overlap)."""
    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    torch.set_num_threads(args.threads)
    space = get_space("t81")
    # the optimiser and clipping of the standard CIFAR-10 protocol (the trainers' step), on
    # networks without auxiliary head and drop-path
    protocol = get_protocol("cifar10", "standard", {
        "layers": args.layers, "channels": args.channels, "batch_size": row.batch,
        "aux_weight": 0, "drop_path": 0, "precision": "bf16" if row.bf16 else "fp32"})
    archs = list(range(args.fused_archs)) if row.fused else [args.arch]
    nets = []
    for a in archs:
        torch.manual_seed(a)
        nets.append(Network(space, space.arch(a), in_channels=args.in_channels, n_classes=10,
                            layers=args.layers, channels=args.channels).to(dev))
    model: torch.nn.Module = FusedNetwork(nets) if row.fused else nets[0]
    model.train()
    fmt = torch.channels_last if row.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    shape = (row.batch, args.in_channels, args.size, args.size)
    gen = torch.Generator().manual_seed(0)
    host_x = torch.randn(shape, generator=gen)
    y = torch.randint(0, 10, (row.batch,), generator=gen).to(dev)
    if dev.type == "cuda":
        host_x = host_x.pin_memory()
    x = host_x.to(dev).contiguous(memory_format=fmt)
    models: ModelGroup = FusedModels(model) if isinstance(model, FusedNetwork) else \
        SingleModel(model)
    forward = Forward(model, row.compile, protocol.batch_size)
    opt = sgd(model.parameters(), protocol)

    def step() -> None:
        xb = host_x.to(dev, non_blocking=True) if row.host_batches else x
        train_step(models, forward, opt, xb, y, protocol)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    t0 = time.perf_counter()
    step()
    sync()
    first = time.perf_counter() - t0
    for _ in range(2):
        step()
    sync()
    if start_at is not None:
        time.sleep(max(0.0, start_at - time.time()))
    rates = []
    for _ in range(args.repeats):
        n, t0 = 0, time.perf_counter()
        while n < args.min_steps or time.perf_counter() - t0 < args.window:
            step()
            n += 1
        sync()
        rates.append(n * row.batch * len(archs) / (time.perf_counter() - t0))
    return {"rate": statistics.median(rates), "first_step_s": first}


def run_row(i: int, row: Row, argv: list[str], args: argparse.Namespace) -> dict[str, float]:
    """Run row ``i`` in ``row.processes`` fresh processes; their rates add up."""
    start_at = time.time() + args.startup if row.processes > 1 else None
    cmd = [sys.executable, __file__, *argv, "--row", str(i)]
    if start_at is not None:
        cmd += ["--start-at", str(start_at)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
             for _ in range(row.processes)]
    results = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"row {row.label!r} failed (exit {p.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return {"rate": sum(r["rate"] for r in results),
            "first_step_s": max(r["first_step_s"] for r in results)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="small nets and batches (a smoke run)")
    ap.add_argument("--size", type=int, help="image side (32; --tiny: 8)")
    ap.add_argument("--layers", type=int, help="cells L (8; --tiny: 2)")
    ap.add_argument("--channels", type=int, help="channels C (16; --tiny: 4)")
    ap.add_argument("--archs", type=int, help="archs in the fused rows (81; --tiny: 9)")
    ap.add_argument("--batch-scale", type=int, help="divide every batch by this (1; --tiny: 16)")
    ap.add_argument("--processes", type=int, default=4, help="processes of the process row")
    ap.add_argument("--rows", help="comma-separated row numbers to run (all)")
    ap.add_argument("--window", type=float, default=3.0, help="seconds per timed window")
    ap.add_argument("--min-steps", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--arch", type=int, default=0, help="arch of the one-model rows (0: sep4)")
    ap.add_argument("--startup", type=float, default=60.0,
                    help="seconds the process rows get to start before their common window")
    ap.add_argument("--row", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.in_channels = 3
    for name, full, tiny in (("size", 32, 8), ("layers", 8, 2), ("channels", 16, 4),
                             ("archs", 81, 9), ("batch_scale", 1, 16)):
        if getattr(args, name) is None:
            setattr(args, name, tiny if args.tiny else full)
    args.fused_archs = args.archs
    table = rows(args.batch_scale, args.device.startswith("cuda"), args.processes)
    if args.row is not None:
        print(json.dumps(measure(table[args.row], args, args.start_at)))
        return
    argv = list(sys.argv[1:])
    chosen = range(len(table)) if args.rows is None else [int(v) for v in args.rows.split(",")]
    dev = torch.device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"device {name}, torch {torch.__version__}; t81, L={args.layers}, C={args.channels}, "
          f"{args.in_channels}x{args.size}x{args.size} synthetic images, fused rows: "
          f"{args.fused_archs} archs; median of {args.repeats} windows of >= {args.window} s")
    print("| # | way of training | batch (per model) | model-images/s | vs first row "
          "| first step |")
    print("|---|---|---|---|---|---|")
    base = None
    for i in chosen:
        row = table[i]
        r = run_row(i, row, argv, args)
        base = base or r["rate"]
        print(f"| {i} | {row.label} | {row.batch} | {r['rate']:,.0f} | {r['rate'] / base:.2f}x "
              f"| {r['first_step_s']:.1f} s |", flush=True)
    print("rows: " + json.dumps([asdict(table[i]) for i in chosen]))


if __name__ == "__main__":
    main()
