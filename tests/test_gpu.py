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
