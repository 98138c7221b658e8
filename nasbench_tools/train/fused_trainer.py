"""Train a group of (arch, seed) tasks of one seed as one fused network (`FusedNetwork`).

Every model starts from the weights its separate run would start from (built under the same
``init_seed(seed, arch)``), sees the same batches in the same order (the seed's data stream,
common to all architectures: common random numbers) and is updated by the same SGD rule with
its own gradient clipping, so a fused run equals the separate runs up to floating-point
reassociation. Drop-path masks (when the protocol uses drop-path) are drawn per model and
sample, but not in the order the separate runs draw them. The epochs are those of the one
training loop (`nasbench_tools.train.loop`), here over the `FusedModels` of the group.

>>> from nasbench_tools.spaces import get_space
>>> from nasbench_tools.train import get_protocol
>>> from nasbench_tools.train.task import Task
>>> space, protocol = get_space("t81"), get_protocol("digits", "quick", {"epochs": 1})
>>> results = train_fused([Task(0, 0), Task(80, 0)], space, protocol, device="cpu")
>>> [(r.arch, r.status.name) for r in results]
[(0, 'DONE'), (80, 'DONE')]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch

from nasbench_tools.data.device import DeviceData
from nasbench_tools.exceptions import ConfigError
from nasbench_tools.nn import count_flops, count_params
from nasbench_tools.nn.fused import FusedNetwork
from nasbench_tools.runtime import resolve_device, torch_threads
from nasbench_tools.spaces import CellSpace
from nasbench_tools.table.schema import Status
from nasbench_tools.train.checkpoint import FitCheckpoint
from nasbench_tools.train.loop import Forward, empty_curves, fit
from nasbench_tools.train.model import FusedModels, build_network
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult
from nasbench_tools.train.seeding import data_seed, init_seed
from nasbench_tools.train.task import Task
from nasbench_tools.train.trainer import protocol_data

#: ``torch.compile`` modes a fused build accepts (``reduce-overhead`` adds CUDA graphs).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def check_compile_mode(mode: str | None) -> None:
    if mode is not None and mode not in COMPILE_MODES:
        raise ConfigError(f"unknown compile mode {mode!r}; allowed: {', '.join(COMPILE_MODES)}")


def train_fused(tasks: Sequence[Task], space: CellSpace, protocol: Protocol, *,
                device: str = "auto", data: DeviceData | None = None,
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
    device = resolve_device(device)
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
            nets.append(build_network(space, space.arch(t.arch), protocol, data).to(dev))
    shape = (data.in_channels, data.image_size, data.image_size)
    sizes = [(count_params(n), count_flops(n, shape)) for n in nets]
    model = FusedNetwork(nets)
    del nets
    curves = empty_curves(protocol, len(tasks))
    failed: dict[int, str] = {}
    gen = torch.Generator(device=dev)
    gen.manual_seed(data_seed(seed))
    with torch.random.fork_rng(devices=forks, device_type=dev.type), \
            torch_threads(protocol.threads):  # thread count changes the float reductions
        torch.manual_seed(init_seed(seed, space.size))  # drop-path masks (no arch has this id)
        state = FitCheckpoint(checkpoint, tasks, protocol, dev) if checkpoint else None
        forward = Forward(model, compile_mode, protocol.batch_size,
                          drop_path=protocol.drop_path > 0)
        if not fit(FusedModels(model), data, protocol, gen, curves, failed, forward=forward,
                   checkpoint=state, deadline=deadline if state is not None else None,
                   label=f"fused group of {model.k} (seed {seed})"):
            return []
        if state is not None:
            state.path.unlink(missing_ok=True)
    return [
        RunResult(arch=t.arch, seed=seed, status=Status.FAILED if i in failed else Status.DONE,
                  metrics=curves[i], n_params=sizes[i][0], flops=sizes[i][1],
                  reason=failed.get(i, ""), device=device)
        for i, t in enumerate(tasks)
    ]
