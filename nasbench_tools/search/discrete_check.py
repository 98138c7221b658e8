"""Is the discretised supernet's error a property of weight sharing or of how it is measured?

The discretised error (`supernet_eval.discrete_eval`: one-hot op weights, BN statistics
re-estimated on half-A batches, eval mode) can sit near chance while the one-shot error falls.
`discrete_readings` takes the same network and architecture four more ways, so that a defect of
the measurement would show as a disagreement:

- ``discrete_err_running``: one-hot, the supernet's own running statistics (no re-estimation);
- ``discrete_err_batch``: one-hot, BN in training mode, i.e. the statistics of each class-mixed
  evaluation batch (no running statistics at all);
- ``sharp_err``: the ordinary relaxed forward with alpha set to ``T (2 e - 1)`` for the one-hot
  e of the architecture, so the softmax (or sigmoid) weights are one-hot to float precision;
  with the running statistics it must equal ``discrete_err_running`` (a check of
  `Supernet.one_hot` against the relaxation it replaces);
- ``oneshot_err``: the continuous supernet, as the trace records it.

`run_discrete_check` trains a DARTS supernet as `run_search` does (same seed, same stream) and
takes the readings at chosen epochs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from nasbench_tools.nn.supernet import Supernet
from nasbench_tools.runtime import resolve_device, torch_threads
from nasbench_tools.search.config import SearchConfig, get_search_config
from nasbench_tools.search.engine import SupernetRunner
from nasbench_tools.search.strategies import make_strategy
from nasbench_tools.search.supernet_eval import discrete_eval, preserved_buffers
from nasbench_tools.spaces import Arch
from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.table.schema import Metric
from nasbench_tools.train.trainer import evaluate


@dataclass(frozen=True)
class DiscreteReadings:
    """Errors (percent) of one supernet and the architecture it selects, taken five ways."""

    epoch: int
    arch: int
    test_regret: float
    oneshot_err: float
    discrete_err: float
    discrete_err_running: float
    discrete_err_batch: float
    sharp_err: float
    chance_err: float  # always guessing the most frequent class of the evaluation images


@contextlib.contextmanager
def sharp_alpha(net: Supernet, arch: Arch, temperature: float) -> Iterator[None]:
    """Within the block alpha is ``temperature * (2 e - 1)`` for the one-hot e of ``arch``."""
    saved = [a.detach().clone() for a in net.arch_parameters()]
    with torch.no_grad():
        for cell, weights in net.one_hot_weights(arch).items():
            net.alphas[cell].copy_(temperature * (2.0 * weights - 1.0))
    try:
        yield
    finally:
        with torch.no_grad():
            for a, old in zip(net.arch_parameters(), saved, strict=True):
                a.copy_(old)


@torch.no_grad()
def _batch_stats_error(net: Supernet, x: Tensor, y: Tensor, batch_size: int) -> float:
    with preserved_buffers(net):
        net.train()
        wrong = 0
        for start in range(0, len(y), batch_size):
            logits = net(x[start:start + batch_size])[0]
            wrong += int((logits.argmax(1) != y[start:start + batch_size]).sum())
    return 100.0 * wrong / len(y)


def discrete_readings(net: Supernet, arch: Arch, calibration: Sequence[Tensor], x: Tensor,
                      y: Tensor, batch_size: int, *, temperature: float = 50.0
                      ) -> tuple[float, float, float, float, float]:
    """``(oneshot, discrete, discrete_running, discrete_batch, sharp)`` errors in percent on
    ``(x, y)``; nothing of ``net`` (weights, alpha, BN statistics, mode) changes."""
    def err(acc: float) -> float:
        return 100.0 * (1.0 - acc)

    oneshot = err(evaluate(net, x, y, batch_size)[1])
    discrete = err(discrete_eval(net, arch, calibration, x, y, batch_size)[1])
    with net.one_hot(arch):
        running = err(evaluate(net, x, y, batch_size)[1])
        batch = _batch_stats_error(net, x, y, batch_size)
    with sharp_alpha(net, arch, temperature):
        sharp = err(evaluate(net, x, y, batch_size)[1])
    net.train()
    return oneshot, discrete, running, batch, sharp


def run_discrete_check(table: str | Path | Benchmark, *, epochs: Sequence[int], seed: int = 0,
                       overrides: dict[str, Any] | None = None, data_root: str | None = None,
                       device: str = "auto", progress: Callable[[str], None] | None = None
                       ) -> list[DiscreteReadings]:
    """Train a DARTS search up to ``max(epochs)`` and take the readings after each of
    ``epochs`` (0-based, as trace epochs) for the architecture it selects then; ``progress``
    gets one line per epoch."""
    bench = table if isinstance(table, Benchmark) else Benchmark.open(table)
    config = get_search_config(bench.dataset, {**(overrides or {}), "hessian_every": 0})
    with torch_threads(config.threads):
        return _read(bench, config, sorted(set(epochs)), seed, data_root,
                     resolve_device(device), progress)


def _read(bench: Benchmark, config: SearchConfig, wanted: list[int], seed: int,
          data_root: str | None, device: str, progress: Callable[[str], None] | None
          ) -> list[DiscreteReadings]:
    strategy = make_strategy("darts", config)
    runner = SupernetRunner(bench, config, strategy, seed=seed, device=device,
                            data_root=data_root)
    out = []
    counts = np.bincount(runner.yb_eval.cpu().numpy())
    chance = 100.0 * (1.0 - counts.max() / counts.sum())
    for epoch in range(wanted[-1] + 1):
        start = time.perf_counter()
        runner.train_epoch(epoch, strategy.settings(epoch))
        if progress is not None:
            progress(f"epoch {epoch + 1} of {wanted[-1] + 1} trained "
                     f"({time.perf_counter() - start:.0f} s)")
        if epoch not in wanted:
            continue
        arch = runner.net.discretize()
        values = discrete_readings(runner.net, arch, runner.calibration_batches(),
                                   runner.xb_eval, runner.yb_eval, config.eval_batch_size)
        aid = bench.space.index(arch)
        out.append(DiscreteReadings(epoch, aid, float(bench.regret(aid, Metric.TEST_ERR)),
                                    *values, chance_err=chance))
    return out


def readings_frame(readings: Sequence[DiscreteReadings]) -> pd.DataFrame:
    return pd.DataFrame([dataclasses.asdict(r) for r in readings])


#: column -> heading of the Markdown table, in order
HEADINGS = {
    "epoch": "epoch", "arch": "arch", "test_regret": "test regret",
    "oneshot_err": "one-shot", "discrete_err": "discretised (BN re-estimated, recorded)",
    "discrete_err_batch": "discretised, BN batch statistics",
    "discrete_err_running": "discretised, supernet's BN statistics",
    "sharp_err": "relaxed, alpha one-hot by temperature", "chance_err": "chance",
}


def readings_markdown(frame: pd.DataFrame) -> str:
    """The readings (a `readings_frame`) as a Markdown table, errors to 0.1 point."""
    lines = ["| " + " | ".join(HEADINGS.values()) + " |", "|" + " --- |" * len(HEADINGS)]
    for row in frame.itertuples(index=False):
        cells = [str(int(getattr(row, c))) if c in ("epoch", "arch")
                 else f"{float(getattr(row, c)):.1f}" for c in HEADINGS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

