"""Train one architecture of a space from scratch and record per-epoch curves.

>>> from nasbench_tools.spaces import get_space
>>> from nasbench_tools.train import get_protocol
>>> from nasbench_tools.train.trainer import train_architecture
>>> space, protocol = get_space("t81"), get_protocol("digits", "quick", {"epochs": 1})
>>> result = train_architecture(space.arch(0), space, protocol, seed=0, device="cpu")
>>> result.status.name, result.epochs
('DONE', 1)

`train_group` is the worker entry point: it trains a list of (arch, seed) tasks and returns
their results. The builder only ever calls that, so a fused multi-architecture trainer can
replace it for a group without any change to scheduling, journal or table code.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench_tools.data.device import DeviceData, augment
from nasbench_tools.data.source import device_data
from nasbench_tools.nn import Network, count_flops, count_params
from nasbench_tools.runtime import torch_threads
from nasbench_tools.spaces import Arch, CellSpace
from nasbench_tools.table.schema import STORED_METRICS, Metric, Status
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult
from nasbench_tools.train.seeding import data_seed, init_seed
from nasbench_tools.train.task import Task


class Diverged(RuntimeError):
    """The training loss became NaN or infinite."""


def protocol_data(protocol: Protocol, device: str, *, data_root: str | None = None
                  ) -> DeviceData:
    """The protocol's dataset on ``device`` in its precision (`nasbench_tools.data.source`)."""
    return device_data(protocol.split, device, dtype=param_dtype(protocol), data_root=data_root)


def train_group(
    tasks: Sequence[Task], space: CellSpace, protocol: Protocol, *, device: str = "cpu",
    data_root: str | None = None, deadline: float | None = None,
) -> list[RunResult]:
    """Train every task of a group (one after the other) and return their results in order;
    none starts after ``deadline`` (``time.time()``), so the list may be shorter."""
    results: list[RunResult] = []
    if deadline is not None and time.time() >= deadline:
        return results
    data = protocol_data(protocol, device, data_root=data_root)
    with torch_threads(protocol.threads):
        for t in tasks:
            if deadline is not None and time.time() >= deadline:
                break
            results.append(train_architecture(space.arch(t.arch), space, protocol, seed=t.seed,
                                              device=device, data=data))
    return results


def train_architecture(
    arch: Arch, space: CellSpace, protocol: Protocol, *, seed: int, device: str = "cpu",
    data: DeviceData | None = None,
) -> RunResult:
    """Train ``arch`` under ``protocol`` with table seed ``seed``; never touches global RNG state.

    A run whose loss becomes NaN or infinite is returned as `Status.FAILED` with the reason and
    NaN for the remaining epochs; it does not raise.
    """
    data = data if data is not None else protocol_data(protocol, device)
    arch_id = space.index(arch)
    curves = {m: np.full(protocol.epochs, np.nan, dtype=np.float32) for m in STORED_METRICS}
    dev = torch.device(device)
    fork_devices = [dev] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices, device_type=dev.type):
        torch.manual_seed(init_seed(seed, arch_id))
        model = _build(space, arch, protocol, data).to(dev)
        n_params = count_params(model)
        flops = count_flops(model, (data.in_channels, data.image_size, data.image_size))
        gen = torch.Generator(device=dev)
        gen.manual_seed(data_seed(seed))
        status, reason = Status.DONE, ""
        try:
            _fit(model, data, protocol, gen, curves)
        except Diverged as exc:
            status, reason = Status.FAILED, str(exc)
    return RunResult(arch=arch_id, seed=seed, status=status, metrics=curves, n_params=n_params,
                     flops=flops, reason=reason, device=device)


def _build(space: CellSpace, arch: Arch, protocol: Protocol, data: DeviceData) -> Network:
    """The network of ``arch``, initialised on the CPU in float32 (the current RNG) and
    then cast to the protocol's dtype, so fp32 and fp64 runs start from the same weights."""
    net = Network(space, arch, in_channels=data.in_channels, n_classes=data.n_classes,
                  layers=protocol.layers, channels=protocol.channels,
                  stem_multiplier=protocol.stem_multiplier, auxiliary=protocol.aux_weight > 0)
    return net.to(dtype=param_dtype(protocol))


def _fit(model: Network, data: DeviceData, protocol: Protocol, gen: torch.Generator,
         curves: dict[Metric, np.ndarray]) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=protocol.lr, momentum=protocol.momentum,
                                weight_decay=protocol.weight_decay)
    for epoch in range(protocol.epochs):
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = protocol.lr_at(epoch)
        loss, acc = _train_epoch(model, optimizer, data, protocol, gen, epoch)
        curves[Metric.TRAIN_LOSS][epoch], curves[Metric.TRAIN_ACC][epoch] = loss, acc
        for x, y, loss_m, acc_m in (
            (data.x_valid, data.y_valid, Metric.VALID_LOSS, Metric.VALID_ACC),
            (data.x_test, data.y_test, Metric.TEST_LOSS, Metric.TEST_ACC),
        ):
            with autocast(protocol, y.device):
                curves[loss_m][epoch], curves[acc_m][epoch] = evaluate(
                    model, x, y, protocol.eval_batch_size)
        curves[Metric.EPOCH_TIME][epoch] = time.perf_counter() - start


def param_dtype(protocol: Protocol) -> torch.dtype:
    """The dtype of weights and images: float64 for ``fp64``, else float32 (``bf16`` is
    autocast over float32 weights)."""
    return torch.float64 if protocol.precision == "fp64" else torch.float32


def autocast(protocol: Protocol, device: torch.device | str) -> torch.autocast:
    """The protocol's mixed precision as a context (a no-op for ``fp32``)."""
    kind = torch.device(device).type
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=protocol.precision == "bf16")


def at_least_fp32(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32 if it is in a lower precision (bf16 logits), else as it is."""
    return t.to(torch.promote_types(t.dtype, torch.float32))


def train_batches(data: DeviceData, protocol: Protocol, gen: torch.Generator
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of augmented training batches in the seed's order (shared by the separate
    and the fused trainer, so both draw the same random numbers in the same order)."""
    x_all, y_all = data.x_train, data.y_train
    order = torch.randperm(len(y_all), generator=gen, device=y_all.device)
    for start in range(0, len(y_all), protocol.batch_size):
        idx = order[start:start + protocol.batch_size]
        if len(idx) < 2:  # batch norm needs two samples; at most one image is skipped
            continue
        x = augment(x_all[idx], gen, crop_pad=protocol.crop_pad, flip=protocol.flip,
                    cutout=protocol.cutout, fill=data.pad_fill)
        yield x, y_all[idx]


def _train_epoch(model: Network, optimizer: torch.optim.Optimizer, data: DeviceData,
                 protocol: Protocol, gen: torch.Generator, epoch: int) -> tuple[float, float]:
    model.train()
    n = len(data.y_train)
    drop = protocol.drop_prob_at(epoch)
    total_loss = torch.zeros((), device=data.y_train.device, dtype=param_dtype(protocol))
    correct = torch.zeros((), device=data.y_train.device, dtype=torch.long)
    for x, y in train_batches(data, protocol, gen):
        with autocast(protocol, y.device):
            logits, aux = model(x, drop_prob=drop)
            loss = F.cross_entropy(at_least_fp32(logits), y)  # fp32 also under bf16 autocast
            if aux is not None:
                loss = loss + protocol.aux_weight * F.cross_entropy(at_least_fp32(aux), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), protocol.grad_clip)
        optimizer.step()
        total_loss += loss.detach() * len(y)
        correct += (logits.detach().argmax(1) == y).sum()
    mean_loss = float(total_loss) / n
    if not math.isfinite(mean_loss):
        raise Diverged(f"non-finite training loss ({mean_loss}) in epoch {epoch}")
    return mean_loss, float(correct) / n


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
             ) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (eval mode) on ``(x, y)``."""
    model.eval()
    total_loss = torch.zeros((), device=y.device, dtype=torch.float64)
    correct = torch.zeros((), device=y.device, dtype=torch.long)
    for start in range(0, len(y), batch_size):
        logits, _ = model(x[start:start + batch_size])
        yb = y[start:start + batch_size]
        total_loss += F.cross_entropy(at_least_fp32(logits), yb, reduction="sum").double()
        correct += (logits.argmax(1) == yb).sum()
    return float(total_loss) / len(y), float(correct) / len(y)
