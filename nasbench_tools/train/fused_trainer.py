"""Train a group of (arch, seed) tasks of one seed as one fused network (`FusedNetwork`).

Every model starts from the weights its separate run would start from (built under the same
``init_seed(seed, arch)``), sees the same batches in the same order (the seed's data stream,
common to all architectures: common random numbers) and is updated by the same SGD rule with
its own gradient clipping, so a fused run equals the separate runs up to floating-point
reassociation. Drop-path masks (when the protocol uses drop-path) are drawn per model and
sample, but not in the order the separate runs draw them.

>>> from nasbench_tools.spaces import get_space
>>> from nasbench_tools.train import get_protocol
>>> from nasbench_tools.train.task import Task
>>> space, protocol = get_space("t81"), get_protocol("digits", "quick", {"epochs": 1})
>>> results = train_fused([Task(0, 0), Task(80, 0)], space, protocol, device="cpu")
>>> [(r.arch, r.status.name) for r in results]
[(0, 'DONE'), (80, 'DONE')]
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nasbench_tools.data.device import DeviceData
from nasbench_tools.exceptions import BuildMismatchError, ConfigError, TableFormatError
from nasbench_tools.nn import count_flops, count_params
from nasbench_tools.nn.fused import FusedNetwork, clip_per_model
from nasbench_tools.runtime import torch_threads
from nasbench_tools.spaces import CellSpace
from nasbench_tools.table.schema import STORED_METRICS, Metric, Status
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult
from nasbench_tools.train.seeding import data_seed, init_seed
from nasbench_tools.train.task import Task
from nasbench_tools.train.trainer import (
    _build,
    at_least_fp32,
    autocast,
    protocol_data,
    train_batches,
)

#: One INFO line per fused epoch (a group of 81 archs x 50 epochs is one long task, so this is
#: the only sign of progress inside it); the CLI shows these lines on stderr.
log = logging.getLogger(__name__)


def per_model_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every model, ``[B, K, classes]`` and ``[B]`` -> ``[K]`` (batch mean),
    in float32 also for bf16 logits."""
    n, k, _ = logits.shape
    return F.cross_entropy(at_least_fp32(logits).permute(0, 2, 1), y[:, None].expand(n, k),
                           reduction="none").mean(0)


#: ``torch.compile`` modes a fused build accepts (``reduce-overhead`` adds CUDA graphs).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def check_compile_mode(mode: str | None) -> None:
    if mode is not None and mode not in COMPILE_MODES:
        raise ConfigError(f"unknown compile mode {mode!r}; allowed: {', '.join(COMPILE_MODES)}")


def train_fused(tasks: Sequence[Task], space: CellSpace, protocol: Protocol, *,
                device: str = "cpu", data: DeviceData | None = None,
                compile_mode: str | None = None, checkpoint: str | Path | None = None,
                deadline: float | None = None) -> list[RunResult]:
    """Train ``tasks`` (all of one seed) together; results in the order of ``tasks``.

    ``compile_mode`` (one of `COMPILE_MODES`) runs the training forward and backward of full
    batches through ``torch.compile`` (one compilation per call; inductor's on-disk cache
    serves later calls with the same shapes); the last, smaller batch and evaluation stay
    eager. Compiled numbers equal eager ones up to float reassociation; with drop-path the
    masks are drawn differently.

    ``checkpoint``: a file the group's whole state (weights, BN buffers, optimiser, data and
    drop-path generators, curves so far) is written to after every epoch, and resumed from
    when it exists for the same tasks and protocol; deleted when the group is done. A
    resumed group equals an uninterrupted one bit for bit (CPU). Fused groups are long (all
    epochs of up to 81 runs), so this is what lets a build go on across short device calls.
    With a checkpoint and a ``deadline`` (``time.time()``), a group called after the deadline
    returns ``[]`` at once, and one called before it stops after the first epoch that ends
    past it and returns ``[]``; calling again goes on from the checkpoint.
    """
    check_compile_mode(compile_mode)
    if checkpoint is not None and deadline is not None and time.time() >= deadline:
        return []
    seeds = {t.seed for t in tasks}
    if len(seeds) != 1:
        raise ConfigError(f"a fused group trains one seed, got seeds {sorted(seeds)}")
    seed = seeds.pop()
    data = data if data is not None else protocol_data(protocol, device)
    dev = torch.device(device)
    nets = []
    forks = [dev] if dev.type == "cuda" else []
    for t in tasks:
        with torch.random.fork_rng(devices=forks, device_type=dev.type):
            torch.manual_seed(init_seed(seed, t.arch))
            nets.append(_build(space, space.arch(t.arch), protocol, data).to(dev))
    shape = (data.in_channels, data.image_size, data.image_size)
    sizes = [(count_params(n), count_flops(n, shape)) for n in nets]
    model = FusedNetwork(nets)
    del nets
    curves = [{m: np.full(protocol.epochs, np.nan, dtype=np.float32) for m in STORED_METRICS}
              for _ in tasks]
    failed: dict[int, str] = {}
    gen = torch.Generator(device=dev)
    gen.manual_seed(data_seed(seed))
    with torch.random.fork_rng(devices=forks, device_type=dev.type), \
            torch_threads(protocol.threads):  # thread count changes the float reductions
        torch.manual_seed(init_seed(seed, space.size))  # drop-path masks (no arch has this id)
        state = _Checkpoint(checkpoint, tasks, protocol, dev) if checkpoint else None
        if not _fit(model, data, protocol, gen, curves, failed, compile_mode, state,
                    deadline if state is not None else None, seed=seed):
            return []
        if state is not None:
            state.path.unlink(missing_ok=True)
    return [
        RunResult(arch=t.arch, seed=seed, status=Status.FAILED if i in failed else Status.DONE,
                  metrics=curves[i], n_params=sizes[i][0], flops=sizes[i][1],
                  reason=failed.get(i, ""), device=device)
        for i, t in enumerate(tasks)
    ]


def _fit(model: FusedNetwork, data: DeviceData, protocol: Protocol, gen: torch.Generator,
         curves: list[dict[Metric, np.ndarray]], failed: dict[int, str],
         compile_mode: str | None = None, state: _Checkpoint | None = None,
         deadline: float | None = None, *, seed: int) -> bool:
    """Train the remaining epochs; False when stopped at ``deadline`` before the last.
    ``seed`` (the group's table seed) only labels the per-epoch log line."""
    optimizer = torch.optim.SGD(model.parameters(), lr=protocol.lr, momentum=protocol.momentum,
                                weight_decay=protocol.weight_decay)
    blocks = model.model_blocks()
    step = _Forward(model, compile_mode, protocol.batch_size)
    first = state.restore(model, optimizer, gen, curves, failed) if state is not None else 0
    for epoch in range(first, protocol.epochs):
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = protocol.lr_at(epoch)
        loss, acc = _train_epoch(step, optimizer, blocks, data, protocol, gen, epoch)
        trained = time.perf_counter()
        with autocast(protocol, data.y_train.device):
            evals = [evaluate_fused(model, x, y, protocol.eval_batch_size)
                     for x, y in ((data.x_valid, data.y_valid), (data.x_test, data.y_test))]
        end = time.perf_counter()
        seconds = (end - start) / model.k  # the group's time, per model
        log.info("fused group of %d (seed %d): epoch %d/%d in %.1f s (training %.1f s, "
                 "%.0f model-images/s; evaluation %.1f s); best valid acc %.4f",
                 model.k, seed, epoch + 1, protocol.epochs, end - start, trained - start,
                 model.k * len(data.y_train) / (trained - start), end - trained,
                 float(np.max(evals[0][1])))
        for i, c in enumerate(curves):
            if i in failed:
                continue
            if not math.isfinite(float(loss[i])):
                failed[i] = f"non-finite training loss ({float(loss[i])}) in epoch {epoch}"
                continue
            c[Metric.TRAIN_LOSS][epoch], c[Metric.TRAIN_ACC][epoch] = loss[i], acc[i]
            c[Metric.VALID_LOSS][epoch], c[Metric.VALID_ACC][epoch] = evals[0][0][i], \
                evals[0][1][i]
            c[Metric.TEST_LOSS][epoch], c[Metric.TEST_ACC][epoch] = evals[1][0][i], \
                evals[1][1][i]
            c[Metric.EPOCH_TIME][epoch] = seconds
        if state is not None and epoch + 1 < protocol.epochs:
            state.save(epoch + 1, model, optimizer, gen, curves, failed)
            if deadline is not None and time.time() >= deadline:
                return False
    return True


class _Checkpoint:
    """The per-epoch state file of one fused group (see `train_fused`)."""

    def __init__(self, path: str | Path, tasks: Sequence[Task], protocol: Protocol,
                 device: torch.device) -> None:
        self.path, self.device = Path(path), device
        self.key = {"tasks": [(t.arch, t.seed) for t in tasks], "protocol": protocol.to_dict()}

    def save(self, epoch: int, model: FusedNetwork, optimizer: torch.optim.Optimizer,
             gen: torch.Generator, curves: list[dict[Metric, np.ndarray]],
             failed: dict[int, str]) -> None:
        state = {
            "key": self.key, "epoch": epoch, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "data_rng": gen.get_state(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda"
            else None,
            # tensors and plain containers only: the file loads with weights_only=True
            "curves": [{m.value: torch.from_numpy(np.array(v)) for m, v in c.items()}
                       for c in curves], "failed": failed,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)  # a kill leaves the old checkpoint or the new one

    def restore(self, model: FusedNetwork, optimizer: torch.optim.Optimizer,
                gen: torch.Generator, curves: list[dict[Metric, np.ndarray]],
                failed: dict[int, str]) -> int:
        """Load the saved state into the arguments; the epoch to go on from (0: none)."""
        if not self.path.exists():
            return 0
        try:  # weights_only: a checkpoint that travelled between machines never runs code
            state = torch.load(self.path, map_location=self.device, weights_only=True)
        except Exception as exc:
            raise TableFormatError(f"checkpoint {self.path} cannot be read "
                                   f"({type(exc).__name__}); delete it to start this group "
                                   "afresh") from None
        if state["key"] != self.key:
            raise BuildMismatchError(f"checkpoint {self.path} belongs to other tasks or another "
                                     "protocol; delete it to start this group afresh")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        gen.set_state(state["data_rng"].cpu())
        torch.set_rng_state(state["rng"].cpu())
        if state["cuda_rng"] is not None:
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)
        for c, saved in zip(curves, state["curves"], strict=True):
            for m in c:
                c[m][:] = saved[m.value].cpu().numpy()
        failed.update(state["failed"])
        return int(state["epoch"])


class _Forward:
    """The training forward: eager, or compiled for full batches (`train_fused`)."""

    def __init__(self, model: FusedNetwork, compile_mode: str | None, batch_size: int) -> None:
        self.model, self.mode, self.batch_size = model, compile_mode, batch_size
        self.compiled = None if compile_mode is None else \
            torch.compile(model, mode=compile_mode, dynamic=False)

    def __call__(self, x: torch.Tensor, drop: float, drop_path: bool
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.compiled is None or len(x) != self.batch_size:
            return self.model(x, drop_prob=drop)
        if self.mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()
        # a tensor drop probability: one graph for all epochs (a float would recompile)
        p = torch.tensor(drop, device=x.device, dtype=x.dtype) if drop_path else 0.0
        out: tuple[torch.Tensor, torch.Tensor | None] = self.compiled(x, drop_prob=p)
        return out


def _train_epoch(step: _Forward, optimizer: torch.optim.Optimizer,
                 blocks: list[tuple[torch.nn.Parameter, torch.Tensor]], data: DeviceData,
                 protocol: Protocol, gen: torch.Generator, epoch: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One epoch exactly as the separate trainer's, for every model at once."""
    model = step.model
    model.train()
    n = len(data.y_train)
    drop = protocol.drop_prob_at(epoch)
    total = torch.zeros(model.k, device=data.y_train.device, dtype=torch.float64)
    correct = torch.zeros(model.k, device=data.y_train.device, dtype=torch.long)
    for x, y in train_batches(data, protocol, gen):
        with autocast(protocol, y.device):
            logits, aux = step(x, drop, protocol.drop_path > 0)
            losses = per_model_loss(logits, y)
            if aux is not None:
                losses = losses + protocol.aux_weight * per_model_loss(aux, y)
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        clip_per_model(blocks, model.k, protocol.grad_clip)
        optimizer.step()
        total += losses.detach().double() * len(y)
        correct += (logits.detach().argmax(2) == y[:, None]).sum(0)
    return (total / n).cpu().numpy(), (correct.double() / n).cpu().numpy()


@torch.no_grad()
def evaluate_fused(model: FusedNetwork, x: torch.Tensor, y: torch.Tensor, batch_size: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy of every model (eval mode) on ``(x, y)``: ``[K]`` each."""
    model.eval()
    total = torch.zeros(model.k, device=y.device, dtype=torch.float64)
    correct = torch.zeros(model.k, device=y.device, dtype=torch.long)
    for start in range(0, len(y), batch_size):
        logits, _ = model(x[start:start + batch_size])
        yb = y[start:start + batch_size]
        total += per_model_loss(logits, yb).double() * len(yb)
        correct += (logits.argmax(2) == yb[:, None]).sum(0)
    return (total / len(y)).cpu().numpy(), (correct.double() / len(y)).cpu().numpy()
