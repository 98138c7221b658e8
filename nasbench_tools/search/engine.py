"""`run_search`: replay a DARTS variant on a table's own data and look up every epoch's choice.

The search sees only the table's train split, cut into halves A (weights) and B (alpha), with
the table's network shape and augmentation; the table's valid and test splits are never
touched. After each epoch the architecture the search currently selects is looked up in the
table (mean over the table's seeds: test/valid error and regret); that look-up is analysis, not
search cost, and so are the one-shot and discretised evaluations and the Hessian.

>>> tiny = {"epochs": 2, "steps_per_epoch": 2, "layers": 3, "channels": 4}
>>> trace = run_search("darts-es", "data/t81-digits.h5", seed=0, device="cpu", overrides=tiny)
>>> [r.epoch for r in trace.records], trace.result is trace.records[-1]
([0, 1], True)
>>> 0 <= trace.result.test_regret < 100 and trace.result.lambda_max > 0
True

Randomness: one `numpy.random.SeedSequence(seed)` gives the weight/alpha initialisation, the
search's data stream (batch order, augmentation, drop-path) and a separate analysis stream, so
computing the Hessian or not leaves the search trajectory unchanged.
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasbench_tools.data.device import augment
from nasbench_tools.data.source import load_split
from nasbench_tools.data.splits import halves
from nasbench_tools.exceptions import BuildMismatchError
from nasbench_tools.nn.supernet import Supernet
from nasbench_tools.runtime import environment, resolve_device, torch_threads
from nasbench_tools.search.arch_step import AlphaStepper, zero_one_loss
from nasbench_tools.search.batches import BatchStream, generator, stream_to
from nasbench_tools.search.bilevel import alpha_gradient
from nasbench_tools.search.checkpoint import (
    load_checkpoint,
    loop_from_plain,
    loop_to_plain,
    save_checkpoint,
    search_key,
)
from nasbench_tools.search.config import SearchConfig, get_search_config
from nasbench_tools.search.fair import cell_mean_sigma, d01, threshold_reading
from nasbench_tools.search.loop import LoopState, run_loop
from nasbench_tools.search.strategies import Strategy, make_strategy, method_overrides
from nasbench_tools.search.strategies.base import EpochSettings
from nasbench_tools.search.supernet_eval import alpha_hessian, discrete_eval, preserved_buffers
from nasbench_tools.search.trace import EpochRecord, SearchTrace
from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.table.schema import Metric
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.trainer import evaluate, protocol_data


class SupernetRunner:
    """Trains and analyses one supernet on a table's data (the `EpochRunner` of the engine)."""

    def __init__(self, bench: Benchmark, config: SearchConfig, strategy: Strategy, *,
                 seed: int, device: str, data_root: str | None = None) -> None:
        self.bench, self.config, self.strategy = bench, config, strategy
        self.protocol = bench.protocol
        _check_split(bench, self.protocol, data_root)
        data = protocol_data(self.protocol, device, data_root=data_root)
        self.dev = data.device
        a, b = (torch.as_tensor(i, device=self.dev)
                for i in halves(np.arange(len(data.y_train)), config.train_portion))
        # canonical strides: a one-channel NCHW tensor made by a permute also looks
        # channels-last, and batched Hessian-vector products (vmap) reject that layout
        layout = torch.channels_last if config.memory_format == "channels_last" \
            else torch.contiguous_format
        self.xa, self.ya = data.x_train[a].clone(memory_format=layout), data.y_train[a]
        self.xb, self.yb = data.x_train[b].clone(memory_format=layout), data.y_train[b]
        self.fill = data.pad_fill
        # children 0-2 as before DSCD existed, so earlier traces reproduce; 3 drives DSCD
        children = np.random.SeedSequence(seed).spawn(4)
        init, stream, analysis = (int(s.generate_state(1)[0]) for s in children[:3])
        with torch.random.fork_rng(devices=[self.dev] if self.dev.type == "cuda" else [],
                                   device_type=self.dev.type):
            torch.manual_seed(init)
            self.net = Supernet(
                bench.space, in_channels=data.in_channels, n_classes=data.n_classes,
                layers=config.layers or self.protocol.layers,
                channels=config.channels or self.protocol.channels,
                stem_multiplier=self.protocol.stem_multiplier, relaxation=strategy.relaxation,
                init_scale=config.init_scale, generator=torch.Generator().manual_seed(init),
            ).to(self.dev)
        self.net.to(memory_format=layout)  # type: ignore[call-overload]  # (missing in stubs)
        self.gen = generator(self.dev, stream)
        self.analysis_gen = generator(self.dev, analysis)
        self.net.set_generator(self.gen)
        self.weights = list(self.net.weight_parameters())
        self.alphas = self.net.arch_parameters()
        self.w_opt = torch.optim.SGD(self.weights, lr=config.lr, momentum=config.momentum,
                                     weight_decay=config.weight_decay)
        self.a_opt = torch.optim.Adam(self.alphas, lr=config.arch_lr,
                                      betas=(config.arch_beta1, config.arch_beta2),
                                      weight_decay=config.arch_weight_decay)
        self.masks = _op_masks(bench.space, self.alphas)
        self.stepper = AlphaStepper(self.alphas, self.a_opt, strategy.dscd, self.masks,
                                    np.random.default_rng(children[3]))
        self.stream_a = BatchStream(len(self.ya), config.batch_size, self.gen)
        self.stream_b = BatchStream(len(self.yb), config.batch_size, self.gen)
        self.steps = config.steps(len(self.ya))
        eval_order = torch.randperm(len(self.yb), generator=self.analysis_gen, device=self.dev)
        eval_order = eval_order[:config.eval_subset]  # None: all of half B
        self.xb_eval, self.yb_eval = self.xb[eval_order], self.yb[eval_order]  # class-mixed
        self.last_b: tuple[Tensor, Tensor] | None = None
        self.snapshots: dict[int, dict[str, Any]] = {}
        self._epoch_stats: dict[str, float] = {}

    # -- training ---------------------------------------------------------------------------
    def _batch(self, stream: BatchStream, x: Tensor, y: Tensor, s: EpochSettings
               ) -> tuple[Tensor, Tensor]:
        idx = stream.next()
        xb = augment(x[idx], self.gen, crop_pad=self.protocol.crop_pad, flip=self.protocol.flip,
                     cutout=self.config.cutout if s.cutout_prob > 0 else 0,
                     cutout_prob=s.cutout_prob, fill=self.fill)
        return xb, y[idx]

    def train_epoch(self, epoch: int, settings: EpochSettings) -> None:
        start = time.perf_counter()
        self.net.train()
        for group in self.w_opt.param_groups:
            group["lr"], group["weight_decay"] = settings.lr, settings.weight_decay
        xi = settings.lr if self.config.order == 2 else 0.0
        loss_sum = torch.zeros((), device=self.dev)
        wrong = torch.zeros((), device=self.dev, dtype=torch.long)
        grad_norm = torch.zeros((), device=self.dev)
        seen = 0
        before = self.stepper.counts()
        for step in range(self.steps):
            xa, ya = self._batch(self.stream_a, self.xa, self.ya, settings)
            xb, yb = self._batch(self.stream_b, self.xb, self.yb, settings)

            def train_loss(xa: Tensor = xa, ya: Tensor = ya) -> Tensor:
                return F.cross_entropy(self.net(xa, drop_prob=settings.drop_path)[0], ya)

            def val_loss(xb: Tensor = xb, yb: Tensor = yb) -> Tensor:
                return F.cross_entropy(self.net(xb, drop_prob=settings.drop_path)[0], yb)

            buffers = [self.w_opt.state.get(p, {}).get("momentum_buffer") for p in self.weights]
            g_alpha = alpha_gradient(train_loss, val_loss, self.weights, self.alphas, xi=xi,
                                     weight_decay=settings.weight_decay,
                                     momentum=self.config.momentum, momentum_buffers=buffers)
            g_alpha = self._with_zero_one(g_alpha)
            grad_norm += torch.sqrt(sum((g * g).sum() for g in g_alpha))  # type: ignore[arg-type]
            self.stepper.step(g_alpha, functools.partial(self._objective, xb, yb),
                              (epoch + step / self.steps) / self.config.epochs)
            self.w_opt.zero_grad(set_to_none=True)
            logits = self.net(xa, drop_prob=settings.drop_path)[0]
            loss = F.cross_entropy(logits, ya)
            loss.backward()
            nn.utils.clip_grad_norm_(self.weights, self.config.grad_clip)
            self.w_opt.step()
            loss_sum += loss.detach() * len(ya)
            wrong += (logits.detach().argmax(1) != ya).sum()
            seen += len(ya)
            self.last_b = (xb, yb)
        counts = [b - a for a, b in zip(before, self.stepper.counts(), strict=True)]
        self._epoch_stats = {"local_steps": counts[0], "global_steps": counts[1],
                             "global_accepted": counts[2], "loss_evals": counts[3],
                             "train_loss": float(loss_sum) / seen,
                             "train_err": 100.0 * float(wrong) / seen,
                             "grad_norm": float(grad_norm) / self.steps,
                             "time": time.perf_counter() - start}

    def _with_zero_one(self, grads: list[Tensor]) -> list[Tensor]:
        """Add the gradient of the strategy's zero-one loss (FairDARTS) to alpha's."""
        weight = self.strategy.zero_one_weight
        if weight == 0:
            return grads
        loss = weight * zero_one_loss(self.alphas, self.masks, self.strategy.zero_one_form)
        extra = torch.autograd.grad(loss, self.alphas)
        return [g + e for g, e in zip(grads, extra, strict=True)]

    @torch.no_grad()
    def _objective(self, xb: Tensor, yb: Tensor) -> float:
        """The alpha objective on one validation batch at the current alpha, as the gradient
        sees it (BN in train mode) but without drop-path and without touching BN statistics."""
        with preserved_buffers(self.net):
            self.net.train()
            loss = F.cross_entropy(self.net(xb)[0], yb)
        weight = self.strategy.zero_one_weight
        if weight:
            loss = loss + weight * zero_one_loss(self.alphas, self.masks,
                                                 self.strategy.zero_one_form)
        return float(loss)

    # -- analysis ---------------------------------------------------------------------------
    def analyse(self, epoch: int, settings: EpochSettings, *, hessian: bool) -> EpochRecord:
        start = time.perf_counter()
        space, bench = self.bench.space, self.bench
        arch = self.net.discretize()
        aid = space.index(arch)
        os_loss, os_acc = evaluate(self.net, self.xb_eval, self.yb_eval,
                                   self.config.eval_batch_size)
        calibration = self.calibration_batches()
        d_loss, d_acc = discrete_eval(self.net, arch, calibration, self.xb_eval, self.yb_eval,
                                      self.config.eval_batch_size)
        lam = ci_lo = ci_hi = float("nan")
        spectrum = None
        if hessian:
            h = alpha_hessian(self.net, self._hessian_batches(),
                              shift=self.config.arch_weight_decay,
                              method=self.config.hessian_method, drop_prob=settings.drop_path,
                              generator=self.analysis_gen, bn_mode=self.config.hessian_bn,
                              # the channels-last (RGB) presets: rows one by one, 3x faster
                              # there; the small digits supernet: one batched pass, 12 % faster
                              batched=self.config.memory_format == "contiguous")
            lam, ci_lo, ci_hi, spectrum = h.lambda_max, h.ci_low, h.ci_high, h.spectrum
        alphas = torch.cat([a.detach().reshape(-1) for a in self.alphas]).double().cpu().numpy()
        stats = self._epoch_stats
        fair = self._fair_fields(alphas)
        return EpochRecord(
            epoch=epoch, alphas=alphas, arch=aid, genotype=space.genotype(arch),
            train_loss=stats["train_loss"], train_err=stats["train_err"],
            test_err=float(bench.query(aid, Metric.TEST_ERR)),
            valid_err=float(bench.query(aid, Metric.VALID_ERR)),
            test_regret=float(bench.regret(aid, Metric.TEST_ERR)),
            valid_regret=float(bench.regret(aid, Metric.VALID_ERR)),
            oneshot_loss=os_loss, oneshot_err=100.0 * (1.0 - os_acc),
            discrete_loss=d_loss, discrete_err=100.0 * (1.0 - d_acc),
            lambda_max=lam, lambda_ci_low=ci_lo, lambda_ci_high=ci_hi, spectrum=spectrum,
            alpha_grad_norm=stats["grad_norm"], lr=settings.lr,
            weight_decay=settings.weight_decay, drop_path=settings.drop_path,
            alpha_updates=self.steps, wall_time=stats["time"],
            local_steps=int(stats["local_steps"]), global_steps=int(stats["global_steps"]),
            global_accepted=int(stats["global_accepted"]), loss_evals=int(stats["loss_evals"]),
            **fair, analysis_time=time.perf_counter() - start,
        )

    def _fair_fields(self, alphas: np.ndarray) -> dict[str, Any]:
        """The sigmoid readings of FairDARTS-style searches (nothing for softmax ones)."""
        if self.strategy.relaxation != "sigmoid":
            return {}
        space, sigma = self.bench.space, 1.0 / (1.0 + np.exp(-alphas))
        normal, reduce = cell_mean_sigma(space, sigma)
        out: dict[str, Any] = {"sigma_normal": normal, "sigma_reduce": reduce,
                               "d01": d01(space, sigma)}
        if self.strategy.threshold is not None:
            r = threshold_reading(space, sigma, threshold=self.strategy.threshold,
                                  rule=self.strategy.threshold_rule)
            out.update(threshold_arch=r.arch, threshold_status=r.status, threshold_lost=r.lost)
            if r.arch >= 0:
                out.update(threshold_test_err=float(self.bench.query(r.arch, Metric.TEST_ERR)),
                           threshold_regret=float(self.bench.regret(r.arch, Metric.TEST_ERR)))
        return out

    def calibration_batches(self) -> list[Tensor]:
        """``bn_recalibration`` unaugmented half-A batches in a fresh order (analysis stream)."""
        n, bs = len(self.ya), self.config.batch_size
        order = torch.randperm(n, generator=self.analysis_gen, device=self.dev)
        out = []
        for k in range(self.config.bn_recalibration):
            start = (k * bs) % max(1, n - bs + 1)
            out.append(self.xa[order[start:start + bs]])
        return out

    def _hessian_batches(self) -> list[tuple[Tensor, Tensor]]:
        """The epoch's last split-B batch, then fresh random split-B batches if asked."""
        assert self.last_b is not None
        batches = [self.last_b]
        for _ in range(self.config.hessian_batches - 1):
            idx = torch.randint(len(self.yb), (self.config.batch_size,),
                                generator=self.analysis_gen, device=self.dev)
            batches.append((self.xb[idx], self.yb[idx]))
        return batches

    # -- rollback ---------------------------------------------------------------------------
    def snapshot(self, epoch: int) -> None:
        self.snapshots[epoch] = {
            "net": copy.deepcopy(self.net.state_dict()),
            "w_opt": copy.deepcopy(self.w_opt.state_dict()),
            "a_opt": copy.deepcopy(self.a_opt.state_dict()),
            "gen": self.gen.get_state(), "a": self.stream_a.state(), "b": self.stream_b.state(),
            "last_b": self.last_b, "stepper": self.stepper.state_dict(),
        }

    def restore(self, epoch: int) -> None:
        s = self.snapshots[epoch]
        self.net.load_state_dict(s["net"])
        self.w_opt.load_state_dict(s["w_opt"])
        self.a_opt.load_state_dict(s["a_opt"])
        self.gen.set_state(s["gen"])
        self.stream_a.set_state(s["a"])
        self.stream_b.set_state(s["b"])
        self.last_b = s["last_b"]
        self.stepper.load_state_dict(s["stepper"])
        self.snapshots = {e: v for e, v in self.snapshots.items() if e <= epoch}

    # -- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything the next epochs depend on (see `nasbench_tools.search.checkpoint`)."""
        return {"net": self.net.state_dict(), "w_opt": self.w_opt.state_dict(),
                "a_opt": self.a_opt.state_dict(), "gen": self.gen.get_state(),
                "analysis_gen": self.analysis_gen.get_state(), "a": self.stream_a.state(),
                "b": self.stream_b.state(), "last_b": self.last_b,
                "stepper": self.stepper.state_dict(), "snapshots": self.snapshots}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.w_opt.load_state_dict(state["w_opt"])
        self.a_opt.load_state_dict(state["a_opt"])
        self.gen.set_state(state["gen"])
        self.analysis_gen.set_state(state["analysis_gen"])
        self.stream_a.set_state(stream_to(state["a"], self.dev))
        self.stream_b.set_state(stream_to(state["b"], self.dev))
        last = state["last_b"]
        self.last_b = None if last is None else (last[0].to(self.dev), last[1].to(self.dev))
        self.stepper.load_state_dict(state["stepper"])
        self.snapshots = {int(e): v for e, v in state["snapshots"].items()}


def _check_split(bench: Benchmark, protocol: Protocol, data_root: str | None) -> None:
    expected = bench.data.attrs.get("split_sha256")
    if not expected:
        return  # tables made in memory (tests) carry no split hash
    actual = load_split(protocol.split, data_root=data_root).sha256()
    if actual != expected:
        raise BuildMismatchError(
            f"the {bench.dataset!r} split rebuilt from the table's protocol has hash "
            f"{actual[:12]}, the table was built on {str(expected)[:12]}: the dataset files "
            "differ from the ones the table was built from")


def _op_masks(space: Any, alphas: list[nn.Parameter]) -> list[Tensor]:
    """Per alpha tensor, True where the entry weights an op other than ``none``."""
    masks = []
    for cell, a in zip(space.cells, alphas, strict=True):
        rows = [e for e in space.edges if e.cell == cell]
        mask = torch.tensor([[name != "none" for name in e.ops] for e in rows], dtype=torch.bool)
        masks.append(mask.to(a.device))
    return masks


def run_search(
    method: str | Strategy, table: str | Path | Benchmark, *, seed: int = 0,
    device: str = "auto", overrides: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None, data_root: str | None = None,
    callback: Callable[[EpochRecord], None] | None = None,
    checkpoint: str | Path | None = None, deadline: float | None = None,
) -> SearchTrace:
    """Run one search and return its trace.

    ``overrides`` change `SearchConfig` fields of the dataset's preset (``epochs``, ``order``,
    ``hessian_every``, ...); ``params`` are the method's own hyper-parameters (e.g.
    ``{"weight_decay": 2.7e-3}`` for ``rdarts-l2``). ``callback`` gets every record as it is made.

    With ``checkpoint`` the search's state is saved there after every epoch and a search
    found there is continued (the trace equals an uninterrupted one); with ``deadline`` (a
    `time.monotonic` value) no epoch starts after it, and the returned trace is unfinished
    (`SearchTrace.finished` is False) when epochs were left.
    """
    bench = table if isinstance(table, Benchmark) else Benchmark.open(table)
    config = get_search_config(bench.dataset, method_overrides(method, overrides))
    strategy = method if isinstance(method, Strategy) else make_strategy(method, config, params)
    dev = resolve_device(device)
    key = search_key(strategy.name, seed, bench.content_sha256, config.to_dict(),
                     strategy.params())
    with torch_threads(config.threads):
        runner = SupernetRunner(bench, config, strategy, seed=seed, device=dev,
                                data_root=data_root)
        state = LoopState()
        saved = load_checkpoint(checkpoint, key) if checkpoint is not None else None
        if saved is not None:
            runner.load_state_dict(saved["runner"])
            strategy.load_state_dict(saved["strategy"])
            state = loop_from_plain(saved["loop"])

        def save(s: LoopState) -> None:
            if checkpoint is not None:
                save_checkpoint(checkpoint, key, {"runner": runner.state_dict(),
                                                  "strategy": strategy.state_dict(),
                                                  "loop": loop_to_plain(s)})

        def late() -> bool:
            return deadline is not None and time.monotonic() > deadline

        records, result_epoch = run_loop(strategy, runner, config.epochs, callback=callback,
                                         state=state, after_epoch=save, should_stop=late)
    settings = {
        "search": config.to_dict(), "params": strategy.params(), "device": dev,
        "protocol": dict(bench.protocol_record), "split_sizes": [len(runner.ya), len(runner.yb)],
        # how each per-epoch reading was taken, as data (docs/methods.md explains them)
        "discrete_eval": {"bn": "eval", "bn_recalibration_batches": config.bn_recalibration,
                          "split": "B", "order": "fixed class-mixed",
                          "images": len(runner.yb_eval)},
        "oneshot_eval": {"bn": "eval", "split": "B", "order": "fixed class-mixed",
                         "images": len(runner.yb_eval)},
        "hessian_eval": {"bn": config.hessian_bn, "batches": config.hessian_batches,
                         "split": "B", "first_batch": "the epoch's last"},
        "environment": environment(),
    }
    return SearchTrace(
        method=strategy.name, seed=seed, space=bench.space, records=tuple(records),
        table=str(table) if not isinstance(table, Benchmark) else "",
        table_sha256=bench.content_sha256, config=settings,
        result_epoch=-1 if result_epoch is None else result_epoch,
        finished=result_epoch is not None,
    )
