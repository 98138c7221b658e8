"""Training throughput of t81 networks: separate (one model at a time) against fused groups.

Counts model-images per second of the training step (forward, backward, per-model gradient
clipping, SGD with momentum and weight decay) on synthetic data, after one warm-up step. The
separate row times every ninth architecture (0, 9, ..., 72; all three ops occur) and reports
their aggregate rate; a fused row runs the first K architectures as one `FusedNetwork` (their
ids form a product grid; the default slices the model axis on a GPU and gathers on the CPU;
``--gathers`` times both ways on the same models).

    python benchmarks/bench_fused.py --device cpu --size 8 --layers 5 --channels 8 --batch 64
    python benchmarks/bench_fused.py --device cuda --size 32 --in-channels 3 --layers 8 \\
        --channels 16 --batch 96 --fused-batch 128 [--bf16]

Prints a Markdown table (medians over ``--repeats``) to paste into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from nasbench_tools.nn import Network
from nasbench_tools.nn.fused import FusedNetwork, clip_per_model
from nasbench_tools.spaces import get_space
from nasbench_tools.train.model import per_model_loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(step: Callable[[], None], images: int, steps: int, repeats: int,
         device: torch.device) -> float:
    """Median model-images/s of ``steps`` calls of ``step`` (``images`` model-images each)."""
    step()
    _sync(device)
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(device)
        out.append(images * steps / (time.perf_counter() - start))
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=int, default=8)
    ap.add_argument("--in-channels", type=int, default=1)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--batch", type=int, default=64, help="batch of the separate runs")
    ap.add_argument("--fused-batch", type=int, default=None, help="per-model batch, fused")
    ap.add_argument("--groups", default="9,27,81", help="fused group sizes K")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bf16", action="store_true",
                    help="forward and loss under bf16 autocast (the protocol's precision=bf16)")
    ap.add_argument("--gathers", action="store_true",
                    help="also time each fused group with gathers instead of grid slices")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    space = get_space("t81")
    gen = torch.Generator().manual_seed(0)

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(n, args.in_channels, args.size, args.size, generator=gen).to(dev)
        return x, torch.randint(0, 10, (n,), generator=gen).to(dev)

    def net(a: int) -> Network:
        torch.manual_seed(a)
        return Network(space, space.arch(a), in_channels=args.in_channels, n_classes=10,
                       layers=args.layers, channels=args.channels).to(dev).train()

    def mixed() -> torch.autocast:
        return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.bf16)

    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else \
        (platform.processor() or platform.machine())
    precision = "bf16 autocast" if args.bf16 else "fp32"
    print(f"device {name}, torch {torch.__version__}, {args.threads} thread(s); t81, "
          f"L={args.layers}, C={args.channels}, {args.in_channels}x{args.size}x{args.size} "
          f"images, {precision}; median of {args.repeats} x {args.steps} steps")
    print("| way of training | per-model batch | model-images/s | vs separate |\n|---|---|---|---|")

    def row(*values: object) -> None:  # each row as soon as it is measured
        print("| " + " | ".join(str(v) for v in values) + " |", flush=True)

    x, y = batch(args.batch)
    rates = []
    for a in range(0, 81, 9):
        model = net(a)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)

        def step(model: Network = model, opt: torch.optim.SGD = opt) -> None:
            opt.zero_grad(set_to_none=True)
            with mixed():
                loss = F.cross_entropy(model(x)[0].float(), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()

        rates.append(rate(step, args.batch, args.steps, args.repeats, dev))
    separate = len(rates) / sum(1.0 / r for r in rates)  # the rate of training them in turn
    row("separate, one model at a time", args.batch, f"{separate:,.0f}", "1.00x")
    xf, yf = batch(args.fused_batch or args.batch)
    for k in (int(v) for v in args.groups.split(",")):
        for slicing in (True, False) if args.gathers else (None,):
            fused = FusedNetwork([net(a) for a in range(k)], slicing=slicing).train()
            how = f"grid {'x'.join(map(str, fused.grid))} slices" if fused.grid else "gathers"
            opt = torch.optim.SGD(fused.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
            blocks = fused.model_blocks()

            def fused_step(fused: FusedNetwork = fused, opt: torch.optim.SGD = opt,
                           blocks: list = blocks, k: int = k) -> None:  # type: ignore[type-arg]
                opt.zero_grad(set_to_none=True)
                with mixed():
                    loss = per_model_loss(fused(xf)[0], yf).sum()
                loss.backward()
                clip_per_model(blocks, k, 5.0)
                opt.step()

            try:
                r = rate(fused_step, k * len(yf), args.steps, args.repeats, dev)
            except torch.OutOfMemoryError:
                row(f"fused, K = {k}, {how}", len(yf), "out of memory", "")
            else:
                row(f"fused, K = {k}, {how}", len(yf), f"{r:,.0f}", f"{r / separate:.2f}x")
            del fused, opt, blocks, fused_step
            if dev.type == "cuda":
                torch.cuda.empty_cache()

if __name__ == "__main__":
    main()
