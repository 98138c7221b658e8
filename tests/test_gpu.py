"""GPU paths (skipped without CUDA): trainer on cuda, several workers sharing one GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import tiny4_space

from nasbench_tools.build import build_table
from nasbench_tools.spaces import get_space
from nasbench_tools.table.hdf5 import read_table
from nasbench_tools.table.schema import Metric, Status
from nasbench_tools.train import get_protocol
from nasbench_tools.train.trainer import train_architecture

pytestmark = pytest.mark.gpu
PROTOCOL = get_protocol("digits", "quick", {"epochs": 2})


def test_cuda_run_matches_cpu_closely() -> None:
    space = get_space("t81")
    gpu = train_architecture(space.arch(0), space, PROTOCOL, seed=0, device="cuda")
    cpu = train_architecture(space.arch(0), space, PROTOCOL, seed=0, device="cpu")
    assert gpu.status is Status.DONE and gpu.device == "cuda"
    # same seeds, different kernels (and generator streams): close, not bit-identical
    assert abs(gpu.metrics[Metric.TEST_ACC][-1] - cpu.metrics[Metric.TEST_ACC][-1]) < 0.2


def test_workers_share_one_gpu(tmp_path: Path) -> None:
    out = tmp_path / "gpu.h5"
    build_table(tiny4_space(), PROTOCOL, (0, 1), out, jobs=2, device="cuda", progress=False)
    table = read_table(out)
    assert (table.status == Status.DONE).all()
    assert np.isfinite(table.metrics[Metric.TEST_ACC]).all()
    assert table.attrs["device"] == "cuda"


def test_fused_network_on_cuda_equals_separate_networks() -> None:
    import torch

    from nasbench_tools.nn import Network
    from nasbench_tools.nn.fused import FusedNetwork

    space = get_space("t81")
    nets = [Network(space, space.arch(a), in_channels=1, n_classes=10, layers=3,
                    channels=4).cuda().double() for a in (0, 40, 80, 13)]
    fused = FusedNetwork(nets).train()
    x = torch.randn(8, 1, 8, 8, device="cuda", dtype=torch.float64)
    out = fused(x)[0]
    for k, net in enumerate(nets):
        assert torch.allclose(out[:, k], net.train()(x)[0], atol=1e-10)


def test_grid_slices_are_the_cuda_default_and_exact() -> None:
    import torch

    from nasbench_tools.nn import Network
    from nasbench_tools.nn.fused import FusedNetwork

    space = get_space("t81")
    nets = [Network(space, space.arch(a), in_channels=1, n_classes=10, layers=3,
                    channels=4).cuda().double() for a in range(9)]  # a 1x1x3x3 grid
    fused = FusedNetwork(nets).train()
    assert fused.grid is not None
    x = torch.randn(8, 1, 8, 8, device="cuda", dtype=torch.float64)
    out = fused(x)[0]
    for k, net in enumerate(nets):
        assert torch.allclose(out[:, k], net.train()(x)[0], atol=1e-10)


def test_fused_build_on_cuda(tmp_path: Path) -> None:
    out = tmp_path / "fused.h5"
    build_table(get_space("t81"), PROTOCOL, (0,), out, device="cuda", progress=False, fuse=None)
    table = read_table(out)
    assert (table.status == Status.DONE).all() and table.attrs["device"] == "cuda"


def test_search_on_cuda() -> None:
    import dataclasses

    from conftest import synthetic_t81_data

    from nasbench_tools.search.engine import run_search
    from nasbench_tools.table import Benchmark

    data = dataclasses.replace(synthetic_t81_data(), dataset="digits",
                               protocol_record=get_protocol("digits", "quick").to_dict())
    trace = run_search("darts-es", Benchmark(data), device="cuda",
                       overrides={"epochs": 2, "steps_per_epoch": 3, "order": 2})
    assert trace.config["device"] == "cuda"
    assert all(np.isfinite(r.lambda_max) for r in trace.records)


@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_compiled_fused_build_on_cuda_is_close_to_eager(tmp_path: Path, mode: str) -> None:
    space = tiny4_space()
    build_table(space, PROTOCOL, (0,), tmp_path / "e.h5", device="cuda", progress=False,
                fuse=None)
    build_table(space, PROTOCOL, (0,), tmp_path / "c.h5", device="cuda", progress=False,
                fuse=None, compile_mode=mode)
    eager, compiled = read_table(tmp_path / "e.h5"), read_table(tmp_path / "c.h5")
    assert compiled.attrs["engine"] == f"fused K<=4, torch.compile {mode}"
    np.testing.assert_allclose(compiled.metrics[Metric.TRAIN_LOSS],
                               eager.metrics[Metric.TRAIN_LOSS], rtol=2e-2)


def test_bf16_fused_training_on_cuda_is_close_to_separate() -> None:
    from nasbench_tools.train.fused_trainer import train_fused
    from nasbench_tools.train.task import Task
    from nasbench_tools.train.trainer import train_group

    space = get_space("t81")
    protocol = get_protocol("digits", "quick", {"epochs": 2, "n_train": 192,
                                                "precision": "bf16"})
    tasks = [Task(a, 1) for a in (0, 40, 80, 13)]
    separate = train_group(tasks, space, protocol, device="cuda")
    fused = train_fused(tasks, space, protocol, device="cuda")
    for s, f in zip(separate, fused, strict=True):
        assert f.status is s.status is Status.DONE
        np.testing.assert_allclose(f.metrics[Metric.TRAIN_LOSS], s.metrics[Metric.TRAIN_LOSS],
                                   rtol=2e-2)
