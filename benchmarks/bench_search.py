"""Search-engine costs, side by side in one run on the same supernet and data.

1. One DARTS step (alpha step + weight step, first and second order): ours (data resident on the
   device, batched augmentation, one reshuffling stream per half) against a reference-style
   step (``torch.utils.data.DataLoader`` with per-sample augmentation, and
   ``next(iter(valid_queue))`` at every step, fp32).
2. Exact alpha-Hessian: one batched backward (vmap over the n unit vectors) against a
   row-by-row loop, for n = 12 (t81) and n = 56 (14 edges x 2 ops x 2 cells, the DARTS cell).
3. lambda_max overhead per epoch: one Hessian (exact and Lanczos) against one search epoch of
   the digits preset.

    python benchmarks/bench_search.py --repeats 5

Prints a Markdown table (medians over ``--repeats``) to paste into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from nasbench_tools.hessian import hessian_matrix
from nasbench_tools.nn.supernet import Supernet
from nasbench_tools.search.bilevel import alpha_gradient
from nasbench_tools.search.config import get_search_config
from nasbench_tools.search.engine import SupernetRunner
from nasbench_tools.search.strategies import make_strategy
from nasbench_tools.spaces import CellSpace, dense_edges
from nasbench_tools.table import Benchmark


class AugmentedHalf(Dataset):
    """Per-sample random crop (pad 1) and no flip, as the digits protocol, the torchvision way."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, pad: int) -> None:
        self.x, self.y, self.pad = x.cpu(), y.cpu(), pad
        self.rng = np.random.default_rng(0)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        img = F.pad(self.x[i], [self.pad] * 4)
        dy, dx = self.rng.integers(0, 2 * self.pad + 1, size=2)
        h, w = self.x.shape[-2:]
        return img[:, dy:dy + h, dx:dx + w], self.y[i]


def median_ms(fn: Callable[[], None], repeats: int, inner: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - start) / inner * 1000.0)
    return statistics.median(times)


def reference_step(runner: SupernetRunner, order: int) -> Callable[[], None]:
    net, cfg = runner.net, runner.config
    train_queue = DataLoader(AugmentedHalf(runner.xa, runner.ya, 1), batch_size=cfg.batch_size,
                             shuffle=True)
    valid_queue = DataLoader(AugmentedHalf(runner.xb, runner.yb, 1), batch_size=cfg.batch_size,
                             shuffle=True)
    train_iter = iter(train_queue)
    weights, alphas = runner.weights, runner.alphas

    def step() -> None:
        nonlocal train_iter
        try:
            xa, ya = next(train_iter)
        except StopIteration:
            train_iter = iter(train_queue)
            xa, ya = next(train_iter)
        xb, yb = next(iter(valid_queue))  # the reference starts a new iterator every step
        g = alpha_gradient(lambda: F.cross_entropy(net(xa)[0], ya),
                           lambda: F.cross_entropy(net(xb)[0], yb), weights, alphas,
                           xi=cfg.lr if order == 2 else 0.0, weight_decay=cfg.weight_decay,
                           momentum=cfg.momentum,
                           momentum_buffers=[runner.w_opt.state.get(p, {}).get("momentum_buffer")
                                             for p in weights])
        for a, ga in zip(alphas, g, strict=True):
            a.grad = ga
        runner.a_opt.step()
        runner.w_opt.zero_grad()
        F.cross_entropy(net(xa)[0], ya).backward()
        torch.nn.utils.clip_grad_norm_(weights, cfg.grad_clip)
        runner.w_opt.step()

    return step


def our_step(runner: SupernetRunner, order: int) -> Callable[[], None]:
    settings = runner.strategy.settings(0)
    runner.steps = 1

    def step() -> None:
        runner.train_epoch(0, settings)

    return step


def hessian_case(n_ops: int, nodes: int, x: torch.Tensor, y: torch.Tensor
                 ) -> tuple[int, Callable[[bool], torch.Tensor]]:
    ops = ["sep_conv_3x3", "skip_connect", "max_pool_3x3"][:n_ops]
    space = CellSpace(name="bench", edges=dense_edges(ops, nodes=nodes), nodes=nodes,
                      multiplier=nodes)
    torch.manual_seed(0)
    net = Supernet(space, in_channels=1, n_classes=10, layers=5, channels=8).train()
    alphas = net.arch_parameters()

    def run(batched: bool) -> torch.Tensor:
        return hessian_matrix(lambda *_: F.cross_entropy(net(x)[0], y), alphas, batched=batched)

    return sum(a.numel() for a in alphas), run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", default="data/t81-digits.h5")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10, help="steps per timed repeat")
    args = ap.parse_args()
    torch.set_num_threads(1)
    bench = Benchmark.open(args.table)
    rows: list[tuple[str, str, str, str]] = []
    for order in (1, 2):
        cfg = get_search_config(bench.dataset, {"order": order})
        timings = {}
        for name, make in (("reference-style", reference_step), ("ours", our_step)):
            runner = SupernetRunner(bench, cfg, make_strategy("darts", cfg), seed=0,
                                    device="cpu")
            timings[name] = median_ms(make(runner, order), args.repeats, args.steps)
        ratio = timings["reference-style"] / timings["ours"]
        rows.append((f"DARTS step, order {order}", f"{timings['reference-style']:.1f} ms",
                     f"{timings['ours']:.1f} ms", f"{ratio:.2f}x"))

    cfg = get_search_config(bench.dataset)
    runner = SupernetRunner(bench, cfg, make_strategy("darts", cfg), seed=0, device="cpu")
    x = runner.xb[:64].clone()
    y = runner.yb[:64]
    for n_ops, nodes in ((3, 1), (2, 4)):
        n, run = hessian_case(n_ops, nodes, x, y)
        diff = float((run(True) - run(False)).abs().max())
        loop = median_ms(lambda run=run: run(False), args.repeats, 1)  # type: ignore[misc]
        batched = median_ms(lambda run=run: run(True), args.repeats, 1)  # type: ignore[misc]
        rows.append((f"exact Hessian, n = {n} (max abs diff {diff:.1e})", f"loop {loop:.0f} ms",
                     f"batched {batched:.0f} ms", f"{loop / batched:.2f}x"))

    from nasbench_tools.search.supernet_eval import alpha_hessian

    strategy = runner.strategy
    epoch_ms = median_ms(lambda: runner.train_epoch(0, strategy.settings(0)), args.repeats, 1)
    runner.train_epoch(0, strategy.settings(0))
    for method in ("exact", "lanczos"):
        ms = median_ms(lambda method=method: alpha_hessian(  # type: ignore[misc]
            runner.net, runner._hessian_batches(), shift=1e-3, method=method, drop_prob=0.0,
            generator=runner.analysis_gen), args.repeats, 1)
        rows.append((f"lambda_max ({method}) vs one epoch ({runner.steps} steps)",
                     f"epoch {epoch_ms:.0f} ms", f"lambda_max {ms:.0f} ms",
                     f"+{100 * ms / epoch_ms:.1f} %"))

    print(f"machine: {platform.processor() or platform.machine()}, torch "
          f"{torch.__version__}, 1 thread; table {args.table}; median of {args.repeats}")
    print("| case | baseline | ours | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
