"""The one training loop of the separate and the fused trainer, over K models (`ModelGroup`).

`fit` runs the epochs: the protocol's SGD (`sgd`) with the cosine lr set per epoch, the
seed's batches (`train_batches`), one `train_step` per batch, the models' divergence
check, evaluation on the validation and test split, the curves, and (for a fused group) a
per-epoch checkpoint, deadline and log line. What differs between one separate network and
a fused group (loss, clipping, totals, evaluation) is the `ModelGroup`'s.

>>> from nasbench_tools.spaces import get_space
>>> from nasbench_tools.train import get_protocol
>>> from nasbench_tools.train.model import SingleModel, build_network
>>> from nasbench_tools.train.trainer import protocol_data
>>> space, protocol = get_space("t81"), get_protocol("digits", "quick", {"epochs": 1})
>>> data = protocol_data(protocol, "cpu")
>>> models = SingleModel(build_network(space, space.arch(0), protocol, data))
>>> curves, failed = empty_curves(protocol, models.k), {}
>>> fit(models, data, protocol, torch.Generator().manual_seed(0), curves, failed)
True
>>> failed, bool(curves[0][Metric.TEST_ACC][0] > 0.1)
({}, True)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from nasbench_tools.data.device import DeviceData, augment
from nasbench_tools.table.schema import STORED_METRICS, Metric
from nasbench_tools.train.checkpoint import FitCheckpoint
from nasbench_tools.train.model import ModelGroup, autocast
from nasbench_tools.train.protocol import Protocol

#: One INFO line per epoch of a labelled `fit` (a fused group of 81 archs x 50 epochs is one
#: long task, so this is the only sign of progress inside it); the CLI shows them on stderr.
log = logging.getLogger(__name__)


def sgd(params: Iterable[nn.Parameter], protocol: Protocol) -> torch.optim.SGD:
    """The protocol's optimiser: SGD with its momentum and weight decay, at lr ``lr`` (`fit`
    sets the epoch's lr of the schedule)."""
    return torch.optim.SGD(params, lr=protocol.lr, momentum=protocol.momentum,
                           weight_decay=protocol.weight_decay)


def train_batches(data: DeviceData, protocol: Protocol, gen: torch.Generator
                  ) -> Iterator[tuple[Tensor, Tensor]]:
    """One epoch of augmented training batches in the seed's order (the same for every
    architecture of a seed, separate or fused: the same random numbers in the same order)."""
    x_all, y_all = data.x_train, data.y_train
    order = torch.randperm(len(y_all), generator=gen, device=y_all.device)
    for start in range(0, len(y_all), protocol.batch_size):
        idx = order[start:start + protocol.batch_size]
        if len(idx) < 2:  # batch norm needs two samples; at most one image is skipped
            continue
        x = augment(x_all[idx], gen, crop_pad=protocol.crop_pad, flip=protocol.flip,
                    cutout=protocol.cutout, fill=data.pad_fill)
        yield x, y_all[idx]


class Forward:
    """The training forward of ``module``: eager, or with ``compile_mode`` (a
    ``torch.compile`` mode) compiled for full batches of ``batch_size``; smaller batches stay
    eager. ``drop_path``: whether the protocol uses drop-path (the compiled graph then takes
    the drop probability as a tensor, so one graph serves every epoch)."""

    def __init__(self, module: nn.Module, compile_mode: str | None = None, batch_size: int = 0,
                 drop_path: bool = False) -> None:
        self.module, self.mode, self.batch_size = module, compile_mode, batch_size
        self.drop_path = drop_path
        self.compiled = None if compile_mode is None else \
            torch.compile(module, mode=compile_mode, dynamic=False)

    def __call__(self, x: Tensor, drop: float) -> tuple[Tensor, Tensor | None]:
        out: tuple[Tensor, Tensor | None]
        if self.compiled is None or len(x) != self.batch_size:
            out = self.module(x, drop_prob=drop)
            return out
        if self.mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()
        # a tensor drop probability: one graph for all epochs (a float would recompile)
        p = torch.tensor(drop, device=x.device, dtype=x.dtype) if self.drop_path else 0.0
        out = self.compiled(x, drop_prob=p)
        return out


def train_step(models: ModelGroup, forward: Forward, optimizer: torch.optim.Optimizer,
               x: Tensor, y: Tensor, protocol: Protocol, drop: float = 0.0
               ) -> tuple[Tensor, Tensor]:
    """One SGD step of every model on the batch ``(x, y)``: forward and loss (plus
    ``aux_weight`` times the auxiliary head's) under the protocol's autocast, backward,
    gradient clipping per model at ``grad_clip``, update. Returns the loss and the logits."""
    with autocast(protocol, y.device):
        logits, aux = forward(x, drop)
        loss = models.loss(logits, y)
        if aux is not None:
            loss = loss + protocol.aux_weight * models.loss(aux, y)
    optimizer.zero_grad(set_to_none=True)
    models.backward(loss)
    models.clip(protocol.grad_clip)
    optimizer.step()
    return loss, logits


def train_epoch(models: ModelGroup, forward: Forward, optimizer: torch.optim.Optimizer,
                data: DeviceData, protocol: Protocol, gen: torch.Generator, epoch: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Epoch ``epoch`` of every model: mean training loss and accuracy (``[K]`` each)."""
    models.module.train()
    drop = protocol.drop_prob_at(epoch)
    models.start_epoch(data.y_train.device)
    for x, y in train_batches(data, protocol, gen):
        loss, logits = train_step(models, forward, optimizer, x, y, protocol, drop)
        models.tally(loss, logits, y)
    return models.epoch_means(len(data.y_train))


def empty_curves(protocol: Protocol, k: int) -> list[dict[Metric, np.ndarray]]:
    """The stored curves of ``k`` runs before training: NaN for every epoch."""
    return [{m: np.full(protocol.epochs, np.nan, dtype=np.float32) for m in STORED_METRICS}
            for _ in range(k)]


def fit(models: ModelGroup, data: DeviceData, protocol: Protocol, gen: torch.Generator,
        curves: list[dict[Metric, np.ndarray]], failed: dict[int, str], *,
        forward: Forward | None = None, checkpoint: FitCheckpoint | None = None,
        deadline: float | None = None, label: str | None = None) -> bool:
    """Train the remaining epochs of ``models`` on batches of ``gen``, writing each model's
    epoch into ``curves`` (one dict per model, see `empty_curves`).

    A model whose training loss becomes NaN or infinite is entered in ``failed`` (index ->
    reason) and its curves stay NaN from that epoch on; the others train on, and the loop ends
    when none is left. ``forward``: the training forward (default: ``models.module``, eager).
    ``checkpoint``: resumed from if it exists, written after every epoch but the last; then
    the loop returns False after the first epoch that ends past ``deadline``
    (``time.time()``), else True. ``label`` names the models in a per-epoch log line (none
    without it). Epoch times are the epoch's wall time per model.
    """
    optimizer = sgd(models.module.parameters(), protocol)
    forward = forward if forward is not None else Forward(models.module)
    first = checkpoint.restore(models.module, optimizer, gen, curves, failed) \
        if checkpoint is not None else 0
    for epoch in range(first, protocol.epochs):
        if len(failed) == models.k:
            break
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = protocol.lr_at(epoch)
        loss, acc = train_epoch(models, forward, optimizer, data, protocol, gen, epoch)
        trained = time.perf_counter()
        for i in range(models.k):
            if i not in failed and not math.isfinite(float(loss[i])):
                failed[i] = f"non-finite training loss ({float(loss[i])}) in epoch {epoch}"
        if len(failed) == models.k:
            break
        with autocast(protocol, data.y_train.device):
            valid_loss, valid_acc = models.evaluate(data.x_valid, data.y_valid,
                                                    protocol.eval_batch_size)
            test_loss, test_acc = models.evaluate(data.x_test, data.y_test,
                                                  protocol.eval_batch_size)
        end = time.perf_counter()
        if label is not None:
            log.info("%s: epoch %d/%d in %.1f s (training %.1f s, %.0f model-images/s; "
                     "evaluation %.1f s); best valid acc %.4f", label, epoch + 1,
                     protocol.epochs, end - start, trained - start,
                     models.k * len(data.y_train) / (trained - start), end - trained,
                     float(np.max(valid_acc)))
        for i, c in enumerate(curves):
            if i in failed:
                continue
            c[Metric.TRAIN_LOSS][epoch], c[Metric.TRAIN_ACC][epoch] = loss[i], acc[i]
            c[Metric.VALID_LOSS][epoch], c[Metric.VALID_ACC][epoch] = valid_loss[i], valid_acc[i]
            c[Metric.TEST_LOSS][epoch], c[Metric.TEST_ACC][epoch] = test_loss[i], test_acc[i]
            c[Metric.EPOCH_TIME][epoch] = (end - start) / models.k
        if checkpoint is not None and epoch + 1 < protocol.epochs:
            checkpoint.save(epoch + 1, models.module, optimizer, gen, curves, failed)
            if deadline is not None and time.time() >= deadline:
                return False
    return True
