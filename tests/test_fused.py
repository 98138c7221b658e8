"""The fused multi-architecture network and trainer equal separate networks and runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nasbench_tools.nn import Network
from nasbench_tools.nn.fused import FusedNetwork, clip_per_model
from nasbench_tools.spaces import CellSpace, dense_edges, get_space
from nasbench_tools.table.schema import STORED_METRICS, Metric
from nasbench_tools.train import get_protocol
from nasbench_tools.train.fused_trainer import train_fused
from nasbench_tools.train.model import per_model_loss
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


def _sgd_steps(nets: list[Network], fused: FusedNetwork, gen: torch.Generator, *, steps: int,
               dtype: torch.dtype) -> int:
    """``steps`` SGD steps (momentum, weight decay, clipping at 0.5) of the separate ``nets``
    and of ``fused`` on the same random batches; how many separate steps were clipped."""
    opt_sep = [torch.optim.SGD(n.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-3)
               for n in nets]
    opt_fused = torch.optim.SGD(fused.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-3)
    blocks = fused.model_blocks()
    clipped = 0
    for _ in range(steps):
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
    return clipped


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_forward_and_sgd_steps_equal_separate_networks(name: str, dtype: torch.dtype,
                                                       tol: float) -> None:
    """k SGD steps with momentum, weight decay and (active) gradient clipping."""
    space = _space(name)
    archs = CASES[name]
    nets = _nets(space, archs, dtype)
    fused = FusedNetwork(nets)
    gen = torch.Generator().manual_seed(0)
    clipped = _sgd_steps(nets, fused, gen, steps=4, dtype=dtype)
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


def test_fused_fp32_gradients_are_as_close_to_fp64_as_separate_ones() -> None:
    """On real digits batches the CPU backend's fp32 convolution backward is off by up to
    ~5e-4 (relative, gradient norm) against fp64; the fused network (pointwise convolutions as
    matmul) must not be worse than the separate networks, measured against fp64."""
    import copy

    from nasbench_tools.train.loop import train_batches
    from nasbench_tools.train.model import build_network
    from nasbench_tools.train.seeding import data_seed, init_seed
    from nasbench_tools.train.trainer import protocol_data

    space = get_space("t81")
    protocol = get_protocol("digits", "quick", {"n_train": 192})
    data = protocol_data(protocol, "cpu")
    archs = CASES["t81"]
    nets = []
    for a in archs:
        torch.manual_seed(init_seed(1, a))
        nets.append(build_network(space, space.arch(a), protocol, data))
    x, y = next(iter(train_batches(data, protocol, torch.Generator().manual_seed(data_seed(1)))))

    def norms(model: torch.nn.Module, xx: torch.Tensor) -> np.ndarray:
        model.zero_grad()
        if isinstance(model, FusedNetwork):
            per_model_loss(model.train()(xx)[0], y).sum().backward()
            return clip_per_model(model.model_blocks(), model.k, 1e30).numpy()
        F.cross_entropy(model.train()(xx)[0], y).backward()
        return np.array([torch.nn.utils.clip_grad_norm_(model.parameters(), 1e30).item()])

    exact = np.concatenate([norms(copy.deepcopy(n).double(), x.double()) for n in nets])
    separate = np.concatenate([norms(n, x) for n in nets])
    fused = FusedNetwork(nets)
    fused_exact = norms(copy.deepcopy(fused).double(), x.double())
    np.testing.assert_allclose(fused_exact, exact, rtol=1e-12)
    err_fused = np.abs(norms(fused, x) / exact - 1)
    err_separate = np.abs(separate / exact - 1)
    assert np.all(err_fused <= err_separate + 1e-6), (err_fused, err_separate)


def test_fused_training_equals_separate_training() -> None:
    """Same init, batches, schedule and per-model clipping as the separate trainer, over two
    epochs. In fp64, so that what is compared is the algorithm: in fp32 the separate
    trainer's own gradients are off by up to ~5e-4 against fp64 on these batches (test
    above), and over several steps that rounding grows, by an amount that depends on the
    CPU's kernels, as between two thread counts of the separate trainer (data/README)."""
    space = get_space("t81")
    protocol = get_protocol("digits", "quick", {"epochs": 2, "n_train": 192,
                                                "precision": "fp64"})
    tasks = [Task(a, 1) for a in CASES["t81"]]
    separate = train_group(tasks, space, protocol, device="cpu")
    fused = train_fused(tasks, space, protocol, device="cpu")
    for s, f in zip(separate, fused, strict=True):
        assert (s.arch, s.seed, s.status, s.n_params, s.flops) == \
            (f.arch, f.seed, f.status, f.n_params, f.flops)
        for m in STORED_METRICS:
            if m.deterministic:  # curves are stored in float32
                np.testing.assert_allclose(f.metrics[m], s.metrics[m], rtol=1e-6, atol=0,
                                           err_msg=m.value)


def test_fused_bf16_training_is_close_to_separate_bf16_training() -> None:
    """Under bf16 mixed precision the fused trainer equals the separate one up to bf16
    rounding. Measured on this setup: losses within 0.13 % of each other, and each within
    0.4 % of fp32 training (but not equal to it)."""
    space = get_space("t81")
    overrides = {"epochs": 2, "n_train": 192, "precision": "bf16"}
    protocol = get_protocol("digits", "quick", overrides)
    tasks = [Task(a, 1) for a in CASES["t81"]]
    separate = train_group(tasks, space, protocol, device="cpu")
    fused = train_fused(tasks, space, protocol, device="cpu")
    fp32 = train_fused(tasks, space, get_protocol("digits", "quick", {**overrides,
                                                                      "precision": "fp32"}))
    for s, f, f32 in zip(separate, fused, fp32, strict=True):
        assert f.status is s.status and not f.same_numbers(f32)
        for m in (Metric.TRAIN_LOSS, Metric.VALID_LOSS, Metric.TEST_LOSS):
            np.testing.assert_allclose(f.metrics[m], s.metrics[m], rtol=1e-2)


def test_a_group_of_two_seeds_is_refused() -> None:
    from nasbench_tools.exceptions import ConfigError

    with pytest.raises(ConfigError, match="one seed"):
        train_fused([Task(0, 0), Task(1, 1)], get_space("t81"), get_protocol("digits", "quick"))


@pytest.mark.parametrize("archs", [tuple(range(81)), tuple(range(27, 54)), (0, 1, 2, 9, 10, 11)])
def test_grid_slicing_equals_gathers(archs: tuple[int, ...]) -> None:
    """All 81 archs (3x3x3x3), a shard fixing edge 3 (1x3x3x3) and a 2x3 subgrid: the sliced
    and the gathered network give the same logits bit for bit, and the same gradients up to
    the order in which autograd sums the contributions of a tensor's consumers."""
    space = get_space("t81")
    nets = []
    for a in archs:
        torch.manual_seed(a)
        nets.append(Network(space, space.arch(a), in_channels=1, n_classes=10, layers=3,
                            channels=2).double())
    sliced, gathered = FusedNetwork(nets, slicing=True), FusedNetwork(nets)  # CPU: gathers
    assert sliced.grid is not None and gathered.grid is None
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.arange(4)
    for net in (sliced, gathered):
        per_model_loss(net.train()(x)[0], y).sum().backward()
    assert torch.equal(sliced(x)[0], gathered(x)[0])
    for (name, p), q in zip(sliced.named_parameters(), gathered.parameters(), strict=True):
        assert p.grad is not None and q.grad is not None
        assert torch.allclose(p.grad, q.grad, rtol=0, atol=1e-12), name


def test_a_non_grid_subset_falls_back_to_gathers() -> None:
    space = get_space("t81")
    nets = [Network(space, space.arch(a), in_channels=1, n_classes=10, layers=3, channels=2)
            for a in (0, 1, 5, 80)]
    fused = FusedNetwork(nets, slicing=True)
    assert fused.grid is None
    x = torch.randn(2, 1, 8, 8)
    for k, net in enumerate(nets):
        assert torch.allclose(fused.eval()(x)[0][:, k], net.eval()(x)[0], atol=1e-5)


def test_every_buffer_is_on_the_device_of_the_weights() -> None:
    # the gather indices are made on the CPU; on a GPU they must follow the weights (an index
    # left on the CPU broke the gather path on CUDA). The meta device shows it without a GPU.
    space = get_space("t81")
    nets = [Network(space, space.arch(a), in_channels=1, n_classes=10, layers=3,
                    channels=2).to("meta") for a in (0, 40, 80, 13)]
    fused = FusedNetwork(nets, slicing=False)
    assert {b.device.type for b in fused.buffers()} == {"meta"}


@pytest.mark.parametrize("stride", [1, 2])
def test_pointwise_matmul_equals_grouped_convolution(stride: int) -> None:
    from nasbench_tools.nn.fused import FusedPointwise

    convs = [torch.nn.Conv2d(3, 5, 1, stride=stride, bias=False).double() for _ in range(4)]
    fused = FusedPointwise(convs)
    grouped = torch.nn.Conv2d(12, 20, 1, stride=stride, groups=4, bias=False).double()
    with torch.no_grad():
        grouped.weight.copy_(fused.weight)
    x = torch.randn(2, 12, 7, 7, dtype=torch.float64, requires_grad=True)
    a, b = fused(x), grouped(x)
    assert a.shape == b.shape == (2, 20, 4 if stride == 2 else 7, 4 if stride == 2 else 7)
    assert torch.allclose(a, b, atol=1e-12)
    ga = torch.autograd.grad(a.square().sum(), (x, fused.weight))
    gb = torch.autograd.grad(b.square().sum(), (x, grouped.weight))
    for u, v in zip(ga, gb, strict=True):
        assert torch.allclose(u, v, atol=1e-10)


@pytest.mark.slow
def test_compiled_fused_training_is_close_to_eager() -> None:
    """torch.compile (inductor, CPU) of the fused step: same runs up to reassociation."""
    space = get_space("t81")
    protocol = get_protocol("digits", "quick", {"epochs": 1, "n_train": 192, "layers": 2,
                                                "channels": 4})
    tasks = [Task(a, 0) for a in (0, 80)]
    eager = train_fused(tasks, space, protocol, device="cpu")
    compiled = train_fused(tasks, space, protocol, device="cpu", compile_mode="default")
    for e, c in zip(eager, compiled, strict=True):
        assert c.status is e.status
        for m in (Metric.TRAIN_LOSS, Metric.VALID_LOSS, Metric.TEST_LOSS):
            np.testing.assert_allclose(c.metrics[m], e.metrics[m], rtol=1e-3)


def test_unknown_compile_mode_is_refused() -> None:
    from nasbench_tools.exceptions import ConfigError

    with pytest.raises(ConfigError, match="unknown compile mode 'turbo'"):
        train_fused([Task(0, 0)], get_space("t81"), get_protocol("digits", "quick"),
                    compile_mode="turbo")


@pytest.mark.parametrize(("archs", "slicing"), [((0, 40, 80, 13), False),
                                                ((0, 1, 2, 9, 10, 11), True)])
def test_a_diverged_model_leaves_the_others_of_its_group_untouched(
        archs: tuple[int, ...], slicing: bool) -> None:
    """A model whose weights are NaN (a run that diverged: the trainer marks it failed and
    trains the group on) must not leak into the other models through shared kernels, the
    gathers or slices, per-model BN or the per-model gradient clipping: after SGD steps the
    others still equal their separate networks."""
    space = get_space("t81")
    nets = _nets(space, archs, torch.float64)
    with torch.no_grad():
        next(nets[1].parameters()).fill_(float("nan"))
    fused = FusedNetwork(nets, slicing=slicing)
    assert (fused.grid is not None) == slicing
    gen = torch.Generator().manual_seed(0)
    _sgd_steps(nets, fused, gen, steps=3, dtype=torch.float64)
    x = torch.randn(8, 1, 8, 8, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        out = fused.eval()(x)[0]
        assert torch.isnan(out[:, 1]).all()
        for k, net in enumerate(nets):
            if k != 1:
                assert torch.allclose(out[:, k], net.eval()(x)[0], rtol=0, atol=1e-10), k
