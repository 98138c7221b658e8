"""The fused multi-architecture network and trainer equal separate networks and runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nasbench_tools.nn import Network
from nasbench_tools.nn.fused import FusedNetwork, clip_per_model
from nasbench_tools.spaces import CellSpace, dense_edges, get_space
from nasbench_tools.table.schema import Metric
from nasbench_tools.train import get_protocol
from nasbench_tools.train.fused_trainer import per_model_loss, train_fused
from nasbench_tools.train.task import Task
from nasbench_tools.train.trainer import train_group

#: every op of the t81 and t81-none spaces appears in at least one of these archs
CASES = {"t81": (0, 40, 80, 13), "t81-none": (0, 40, 80, 52)}


def _space(name: str) -> CellSpace:
    return get_space(name)


def _nets(space: CellSpace, archs: tuple[int, ...], dtype: torch.dtype, **kw: object
          ) -> list[Network]:
    nets = []
    for a in archs:
        torch.manual_seed(a)
        nets.append(Network(space, space.arch(a), in_channels=1, n_classes=10,  # type: ignore[arg-type]
                            layers=4, channels=4, **kw).to(dtype))
    return nets


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_forward_and_sgd_steps_equal_separate_networks(name: str, dtype: torch.dtype,
                                                       tol: float) -> None:
    """k SGD steps with momentum, weight decay and (active) gradient clipping."""
    space = _space(name)
    archs = CASES[name]
    nets = _nets(space, archs, dtype)
    fused = FusedNetwork(nets)
    opt_sep = [torch.optim.SGD(n.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-3)
               for n in nets]
    opt_fused = torch.optim.SGD(fused.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-3)
    blocks = fused.model_blocks()
    gen = torch.Generator().manual_seed(0)
    clipped = 0
    for _ in range(4):
        x = torch.randn(16, 1, 8, 8, generator=gen, dtype=dtype)
        y = torch.randint(0, 10, (16,), generator=gen)
        for net, opt in zip(nets, opt_sep, strict=True):
            opt.zero_grad()
            F.cross_entropy(net.train()(x)[0], y).backward()
            norm = torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
            clipped += int(norm > 0.5)
            opt.step()
        opt_fused.zero_grad()
        per_model_loss(fused.train()(x)[0], y).sum().backward()
        clip_per_model(blocks, fused.k, 0.5)
        opt_fused.step()
    assert clipped > 0  # the clipping path was exercised
    x = torch.randn(8, 1, 8, 8, generator=gen, dtype=dtype)
    for mode in ("train", "eval"):
        fused.train(mode == "train")
        out = fused(x)[0]
        for k, net in enumerate(nets):
            net.train(mode == "train")
            assert torch.allclose(out[:, k], net(x)[0], rtol=0, atol=tol), (mode, k)


def test_auxiliary_head_and_cell_concat_fuse_exactly() -> None:
    """A 2-node cell (concat of two nodes) with the auxiliary head, in fp64."""
    space = CellSpace(name="two-node", edges=dense_edges(["sep_conv_3x3", "skip_connect",
                                                           "avg_pool_3x3"], nodes=2),
                      nodes=2, multiplier=2)
    archs = (0, space.size - 1, 7)
    nets = _nets(space, archs, torch.float64, auxiliary=True)
    fused = FusedNetwork(nets).train()
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    logits, aux = fused(x)
    assert aux is not None
    for k, net in enumerate(nets):
        ref_logits, ref_aux = net.train()(x)
        assert torch.allclose(logits[:, k], ref_logits, atol=1e-10)
        assert ref_aux is not None and torch.allclose(aux[:, k], ref_aux, atol=1e-10)


def test_fused_training_equals_separate_training() -> None:
    """Same init, batches, schedule and per-model clipping as the separate trainer. Over a few
    steps the runs agree to float precision; over many, fp32 reassociation noise grows as it
    does between two thread counts of the separate trainer (see data/README.md)."""
    space = get_space("t81")
    protocol = get_protocol("digits", "quick", {"epochs": 2, "n_train": 192})
    tasks = [Task(a, 1) for a in CASES["t81"]]
    separate = train_group(tasks, space, protocol, device="cpu")
    fused = train_fused(space, tasks, protocol, device="cpu")
    for s, f in zip(separate, fused, strict=True):
        assert (s.arch, s.seed, s.status, s.n_params, s.flops) == \
            (f.arch, f.seed, f.status, f.n_params, f.flops)
        for m in (Metric.TRAIN_LOSS, Metric.VALID_LOSS, Metric.TEST_LOSS):
            np.testing.assert_allclose(f.metrics[m], s.metrics[m], rtol=1e-4, atol=1e-5)
        for m in (Metric.TRAIN_ACC, Metric.VALID_ACC, Metric.TEST_ACC):
            np.testing.assert_allclose(f.metrics[m], s.metrics[m], atol=0.01)


def test_a_group_of_two_seeds_is_refused() -> None:
    from nasbench_tools.exceptions import ConfigError

    with pytest.raises(ConfigError, match="one seed"):
        train_fused(get_space("t81"), [Task(0, 0), Task(1, 1)], get_protocol("digits", "quick"))
