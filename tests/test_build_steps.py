"""`.ci/gpu-build`: a build in time-limited steps, each on a fresh copy of the last step's state.

Each step runs in a directory of its own that holds only what the previous step handed back
(table, journal, fused-group checkpoint), as a machine that starts from a clean checkout
would; the finished table must equal one uninterrupted build (CPU, bit for bit).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import write_jpeg_h5

from nasbench_tools.build import build_table, parse_shard
from nasbench_tools.spaces import get_space
from nasbench_tools.table.hdf5 import read_table
from nasbench_tools.table.schema import STORED_METRICS, Status
from nasbench_tools.train import get_protocol

ROOT = Path(__file__).resolve().parents[1]
OVERRIDES = {"n_valid": 20, "epochs": 6, "layers": 2, "channels": 4, "eval_batch_size": 256}
SHARD = "0/27"  # archs 0, 27 and 54: one fused group of 3


def test_build_steps_on_fresh_copies_equal_one_build(tmp_path: Path) -> None:
    data = tmp_path / "c10.h5"
    write_jpeg_h5(data, per_class=12, n_classes=10)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "DEVICE": "cpu",
           "FUSE": "3", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "EXTRA": " ".join([f"--set {k}={v}" for k, v in OVERRIDES.items()] +
                             [f"--shard {SHARD}"])}
    handed_back: Path | None = None
    codes, checkpoints = [], 0
    for step in range(20):
        here = tmp_path / f"step{step}"
        here.mkdir()
        if handed_back is not None:  # only what the last step returned
            shutil.copytree(handed_back, here, dirs_exist_ok=True)
        results = tmp_path / f"results{step}"
        proc = subprocess.run(["bash", str(ROOT / ".ci/gpu-build"), str(data), "3", str(results)],
                              env={**env, "TABLE": str(here / "t.h5")}, capture_output=True,
                              text=True, timeout=300)
        codes.append(proc.returncode)
        assert proc.returncode in (0, 3), proc.stdout + proc.stderr
        handed_back = results / "partial"
        checkpoints += len(list(handed_back.glob("t.h5.ckpt/*.pt")))
        if proc.returncode == 0:
            break
    assert codes[-1] == 0, f"no end after {len(codes)} steps"
    assert handed_back is not None
    stepped = read_table(handed_back / "t.h5")
    protocol = get_protocol("cifar10-jpeg", "standard", OVERRIDES)
    build_table(get_space("t81"), protocol, (0,), tmp_path / "once.h5", device="cpu",
                progress=False, fuse=3, shard=parse_shard(SHARD), data_root=str(data))
    once = read_table(tmp_path / "once.h5")
    assert (stepped.status[[0, 27, 54]] == Status.DONE).all()
    for m in STORED_METRICS:
        if m.deterministic:
            assert np.array_equal(stepped.metrics[m], once.metrics[m], equal_nan=True), m
    print(f"{len(codes)} steps, {checkpoints} checkpoints handed on")
