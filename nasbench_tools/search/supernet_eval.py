"""Analysis of a supernet during search: one-shot and discretised errors, the alpha-Hessian.

None of this changes the search: BN running statistics are saved and restored around every
analysis that runs the network in training mode, and analysis randomness (drop-path masks, the
extra Hessian batches) comes from its own generator.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasbench_tools.hessian import dominant_eigenvalue, eigenvalues, hessian_matrix
from nasbench_tools.nn.supernet import Supernet
from nasbench_tools.spaces import Arch
from nasbench_tools.train.trainer import evaluate


@contextlib.contextmanager
def preserved_buffers(net: nn.Module) -> Iterator[None]:
    """Restore every buffer (BN running statistics) and the train/eval mode on exit."""
    saved = {k: v.detach().clone() for k, v in net.named_buffers()}
    mode = net.training
    try:
        yield
    finally:
        with torch.no_grad():
            for k, v in net.named_buffers():
                v.copy_(saved[k])
        net.train(mode)


@contextlib.contextmanager
def standard_layout(net: nn.Module) -> Iterator[None]:
    """Within the block every 4-d weight of ``net`` is held in the standard (contiguous)
    layout; on exit each parameter gets back its own tensor (values, strides) unchanged."""
    saved = [(p, p.data) for p in net.parameters() if p.dim() == 4]
    for p, data in saved:  # clone: contiguous() keeps the strides of 1x1 kernels as they are
        p.data = data.clone(memory_format=torch.contiguous_format)
    try:
        yield
    finally:
        for p, data in saved:
            p.data = data


@torch.no_grad()
def recalibrate_bn(net: nn.Module, batches: Sequence[Tensor]) -> None:
    """Re-estimate BN running statistics as the plain average over ``batches`` (train mode)."""
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average
    net.train()
    for x in batches:
        net(x)
    for bn, m in zip(bns, momenta, strict=True):
        bn.momentum = m


def discrete_eval(net: Supernet, arch: Arch, calibration: Sequence[Tensor], x: Tensor,
                  y: Tensor, batch_size: int) -> tuple[float, float]:
    """Loss and accuracy of the discretised supernet (one-hot weights of ``arch``, the same
    weights), its BN statistics re-estimated on ``calibration`` first (docs/methods.md)."""
    with preserved_buffers(net), net.one_hot(arch):
        if calibration:
            recalibrate_bn(net, calibration)
        return evaluate(net, x, y, batch_size)


@dataclass(frozen=True)
class HessianResult:
    lambda_max: float
    ci_low: float
    ci_high: float
    spectrum: np.ndarray | None


def alpha_hessian(net: Supernet, batches: Sequence[tuple[Tensor, Tensor]], *, shift: float,
                  method: str, drop_prob: float, generator: torch.Generator,
                  bn_mode: str = "train", batched: bool = True) -> HessianResult:
    """Dominant eigenvalue of ``H = mean_b hess_alpha L_val(b) + shift * I`` (docs/methods.md).

    ``bn_mode="train"`` (the reference) uses batch statistics and keeps drop-path on;
    ``"eval"`` uses the running statistics and no drop-path. ``exact`` also returns the whole
    spectrum. With more than
    one batch the interval is mean +- 1.96 standard errors of the per-batch eigenvalues.

    ``batched``: the exact Hessian's rows in one vectorised backward pass, or one by one
    (`hessian_matrix`; same values up to rounding). The computation runs in the standard memory
    layout (a channels-last network is switched for it and back): vectorised backward passes
    need that layout, and row by row it measured faster than channels-last
    (benchmarks/README.md).
    """
    alphas = net.arch_parameters()
    old_gen = net.generator
    per_batch: list[float] = []
    mats: list[Tensor] = []
    try:
        net.set_generator(generator)
        with preserved_buffers(net), standard_layout(net):
            net.train(bn_mode == "train")
            for x_in, y in batches:
                # vmap (batched HVPs) rejects a 1-channel batch whose strides look channels-last
                x = x_in.clone(memory_format=torch.contiguous_format)

                def loss_fn(*_: Tensor, x: Tensor = x, y: Tensor = y) -> Tensor:
                    return F.cross_entropy(net(x, drop_prob=drop_prob)[0], y)

                if method == "exact":
                    h = hessian_matrix(loss_fn, alphas, batched=batched).double()
                    mats.append(h)
                    if len(batches) > 1:  # per-batch values only feed the interval
                        per_batch.append(float(eigenvalues(h)[-1]) + shift)
                else:
                    per_batch.append(dominant_eigenvalue(loss_fn, alphas, method=method,
                                                         shift=shift))
    finally:
        net.set_generator(old_gen)
    spectrum = None
    if mats:
        mean = torch.stack(mats).mean(0)
        spectrum = eigenvalues(mean) + shift
        top = float(spectrum[-1])
    else:
        top = float(np.mean(per_batch))
    if len(per_batch) > 1:
        half = 1.96 * float(np.std(per_batch, ddof=1)) / math.sqrt(len(per_batch))
        mid = float(np.mean(per_batch))
        return HessianResult(top, mid - half, mid + half, spectrum)
    return HessianResult(top, math.nan, math.nan, spectrum)
