"""Forward + backward time of the fused network's building blocks against K separate ones.

K models of C channels on ``[B, K * C, H, W]`` activations: the depthwise 3x3 convolution
(groups K * C), the pointwise convolution as a grouped 1x1 convolution and as the batched
``matmul`` of `FusedPointwise`, both in the default layout and in channels_last, against K
separate per-model convolutions run one after another.

    python benchmarks/bench_fused_ops.py --k 81 --channels 8 --size 28 --batch 128

Prints a Markdown table of medians (seconds per forward + backward) over ``--repeats``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F


def seconds(fn: Callable[[], torch.Tensor], repeats: int) -> float:
    fn().sum().backward()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn().sum().backward()
        out.append(time.perf_counter() - start)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=81)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    k, c, n, h = args.k, args.channels, args.batch, args.size
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(n, k * c, h, h, generator=gen)
    x = base.clone().requires_grad_()
    xl = base.contiguous(memory_format=torch.channels_last).requires_grad_()
    wd = torch.randn(k * c, 1, 3, 3, generator=gen).requires_grad_()
    wp = torch.randn(k * c, c, 1, 1, generator=gen).requires_grad_()
    xs = torch.randn(n, c, h, h, generator=gen).requires_grad_()
    wds = torch.randn(c, 1, 3, 3, generator=gen).requires_grad_()
    wps = torch.randn(c, c, 1, 1, generator=gen).requires_grad_()

    def matmul() -> torch.Tensor:
        return torch.matmul(wp.view(k, c, c), x.reshape(n, k, c, h * h)).view(n, -1, h, h)

    r = args.repeats
    rows = [
        ("depthwise 3x3", seconds(lambda: F.conv2d(x, wd, padding=1, groups=k * c), r),
         seconds(lambda: F.conv2d(xl, wd, padding=1, groups=k * c), r),
         k * seconds(lambda: F.conv2d(xs, wds, padding=1, groups=c), r)),
        ("pointwise, grouped 1x1 conv", seconds(lambda: F.conv2d(x, wp, groups=k), r),
         seconds(lambda: F.conv2d(xl, wp, groups=k), r),
         k * seconds(lambda: F.conv2d(xs, wps), r)),
        ("pointwise, batched matmul", seconds(matmul, r), float("nan"), float("nan")),
        ("batch norm", seconds(lambda: F.batch_norm(x, None, None, training=True), r),
         seconds(lambda: F.batch_norm(xl, None, None, training=True), r),
         k * seconds(lambda: F.batch_norm(xs, None, None, training=True), r)),
        ("max pool 3x3", seconds(lambda: F.max_pool2d(x, 3, 1, 1), r),
         seconds(lambda: F.max_pool2d(xl, 3, 1, 1), r),
         k * seconds(lambda: F.max_pool2d(xs, 3, 1, 1), r)),
    ]
    print(f"torch {torch.__version__}, {args.threads} thread(s); K={k}, C={c}, {h}x{h}, "
          f"batch {n}; median of {r}; seconds per forward + backward")
    print("| op | fused | fused, channels_last | K separate |\n|---|---|---|---|")
    for name, *t in rows:
        print(f"| {name} | " + " | ".join("-" if v != v else f"{v:.3f} s" for v in t) + " |")


if __name__ == "__main__":
    main()
