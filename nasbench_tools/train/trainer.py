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
replace it for a group without any change to scheduling, journal or table code. Both train
with the one loop of `nasbench_tools.train.loop`, here over one `SingleModel`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from nasbench_tools.data.device import DeviceData
from nasbench_tools.data.source import device_data
from nasbench_tools.nn import count_flops, count_params
from nasbench_tools.runtime import resolve_device, torch_threads
from nasbench_tools.spaces import Arch, CellSpace
from nasbench_tools.table.schema import Status
from nasbench_tools.train.loop import empty_curves, fit
from nasbench_tools.train.model import SingleModel, build_network, evaluate, param_dtype
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult
from nasbench_tools.train.seeding import data_seed, init_seed
from nasbench_tools.train.task import Task

# `evaluate` is also the search's evaluation of a supernet (`nasbench_tools.search`)
__all__ = ["evaluate", "protocol_data", "train_architecture", "train_group"]


def protocol_data(protocol: Protocol, device: str, *, data_root: str | None = None
                  ) -> DeviceData:
    """The protocol's dataset on ``device`` in its precision (`nasbench_tools.data.source`)."""
    return device_data(protocol.split, device, dtype=param_dtype(protocol), data_root=data_root)


def train_group(
    tasks: Sequence[Task], space: CellSpace, protocol: Protocol, *, device: str = "auto",
    data_root: str | None = None, deadline: float | None = None,
) -> list[RunResult]:
    """Train every task of a group (one after the other) and return their results in order;
    none starts after ``deadline`` (``time.time()``), so the list may be shorter."""
    device = resolve_device(device)
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
    arch: Arch, space: CellSpace, protocol: Protocol, *, seed: int, device: str = "auto",
    data: DeviceData | None = None,
) -> RunResult:
    """Train ``arch`` under ``protocol`` with table seed ``seed``; never touches global RNG state.

    A run whose loss becomes NaN or infinite is returned as `Status.FAILED` with the reason and
    NaN for the remaining epochs; it does not raise.
    """
    device = resolve_device(device)
    data = data if data is not None else protocol_data(protocol, device)
    arch_id = space.index(arch)
    (curves,) = empty_curves(protocol, 1)
    failed: dict[int, str] = {}
    dev = torch.device(device)
    fork_devices = [dev] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices, device_type=dev.type):
        torch.manual_seed(init_seed(seed, arch_id))  # the weights, then the drop-path masks
        model = build_network(space, arch, protocol, data).to(dev)
        n_params = count_params(model)
        flops = count_flops(model, (data.in_channels, data.image_size, data.image_size))
        gen = torch.Generator(device=dev)
        gen.manual_seed(data_seed(seed))
        fit(SingleModel(model), data, protocol, gen, [curves], failed)
    return RunResult(arch=arch_id, seed=seed, status=Status.FAILED if failed else Status.DONE,
                     metrics=curves, n_params=n_params, flops=flops,
                     reason=failed.get(0, ""), device=device)
