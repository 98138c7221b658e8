"""The per-epoch state file of a training loop (`nasbench_tools.train.loop.fit`).

It holds what a resumed loop needs to go on exactly as an uninterrupted one: weights and
buffers, optimiser state, the data generator and the global RNG (drop-path masks), the
curves and failures so far. `nasbench_tools.train.fused_trainer` writes one per fused group.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nasbench_tools.exceptions import BuildMismatchError, TableFormatError
from nasbench_tools.table.schema import Metric
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.task import Task


class FitCheckpoint:
    """The state file of the loop that trains ``tasks`` under ``protocol`` on ``device``."""

    def __init__(self, path: str | Path, tasks: Sequence[Task], protocol: Protocol,
                 device: torch.device) -> None:
        self.path, self.device = Path(path), device
        self.key = {"tasks": [(t.arch, t.seed) for t in tasks], "protocol": protocol.to_dict()}

    def save(self, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer,
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

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer,
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
