"""Tests for nasbench_tools.nn: op shapes, the cell/macro network, drop-path and size counters."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.nn import Cell, Network, count_flops, count_params, make_op
from nasbench_tools.nn.network import reduction_indices
from nasbench_tools.nn.ops import OPS, Noise
from nasbench_tools.spaces import KNOWN_OPS, Arch, CellSpace, dense_edges, get_space

torch.set_num_threads(1)

C = 4


def _net(space: CellSpace, arch: Arch, *, layers: int = 5, auxiliary: bool = False) -> Network:
    return Network(space, arch, in_channels=1, n_classes=10, layers=layers, channels=8,
                   auxiliary=auxiliary)


def _all(space: CellSpace, op: str) -> Arch:
    return Arch(tuple(e.ops.index(op) for e in space.edges))


@pytest.fixture(autouse=True)
def _isolated_rng():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        yield


# -- ops ------------------------------------------------------------------------------------
def test_registry_covers_known_ops():
    assert set(OPS) == set(KNOWN_OPS)


@pytest.mark.parametrize("name", KNOWN_OPS)
@pytest.mark.parametrize("size", [8, 7, 2])
def test_op_shapes(name: str, size: int) -> None:
    x = torch.randn(2, C, size, size)
    for stride in (1, 2):
        op = make_op(name, C, stride, affine=True)
        half = -(-size // stride)
        assert op(x).shape == (2, C, half, half), (name, size, stride)


def test_op_shape_from_1x1():
    x = torch.randn(2, C, 1, 1)
    for name in KNOWN_OPS:
        assert make_op(name, C, 2, affine=False)(x).shape == (2, C, 1, 1)


def test_none_gives_zeros():
    x = torch.randn(2, C, 7, 7)
    assert torch.count_nonzero(make_op("none", C, 1, affine=True)(x)) == 0
    assert torch.count_nonzero(make_op("none", C, 2, affine=True)(x)) == 0


def test_noise_is_input_independent():
    op = make_op("noise", C, 2, affine=True)
    assert isinstance(op, Noise)
    x = torch.randn(2, C, 8, 8)
    op.generator = torch.Generator().manual_seed(3)
    a = op(x)
    op.generator = torch.Generator().manual_seed(3)
    b = op(100.0 * x + 5.0)
    assert torch.equal(a, b)
    assert a.shape == (2, C, 4, 4)
    assert not torch.equal(op(x), op(x))  # fresh values on every call


def test_noise_uses_global_rng_without_generator():
    op = make_op("noise", C, 1, affine=True)
    torch.manual_seed(5)
    a = op(torch.zeros(1, C, 3, 3))
    torch.manual_seed(5)
    assert torch.equal(a, op(torch.ones(1, C, 3, 3)))


def test_unknown_op_and_bad_stride():
    with pytest.raises(UnknownNameError, match="sep_conv_3x3"):
        make_op("conv_7x7", C, 1, affine=True)
    with pytest.raises(ConfigError):
        make_op("skip_connect", C, 3, affine=True)


def test_pool_bn_option():
    plain = make_op("max_pool_3x3", C, 1, affine=False)
    with_bn = make_op("avg_pool_3x3", C, 1, affine=False, pool_bn=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    bns = [m for m in with_bn.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 1 and not bns[0].affine
    conv = make_op("sep_conv_3x3", C, 1, affine=False, pool_bn=True)
    assert all(not m.affine for m in conv.modules() if isinstance(m, nn.BatchNorm2d))


# -- network --------------------------------------------------------------------------------
def test_reduction_indices():
    assert reduction_indices(1) == (0,)
    assert reduction_indices(2) == (0, 1)
    assert reduction_indices(5) == (1, 3)
    assert reduction_indices(8) == (2, 5)
    with pytest.raises(ConfigError):
        reduction_indices(0)


@pytest.mark.parametrize("space_name", ["t81", "t81-none"])
def test_every_arch_forwards(space_name: str) -> None:
    space = get_space(space_name)
    x = torch.randn(2, 1, 8, 8)
    for arch in space.archs():
        logits, aux = _net(space, arch).eval()(x)
        assert logits.shape == (2, 10) and aux is None
        assert torch.isfinite(logits).all()


def test_all_none_network_trains():
    space = get_space("t81-none")
    net = _net(space, _all(space, "none")).train()
    logits, _ = net(torch.randn(4, 1, 8, 8))
    logits.sum().backward()
    assert logits.shape == (4, 10)


@pytest.mark.parametrize("layers", [1, 2, 3, 4])
def test_few_layers(layers: int) -> None:
    space = get_space("t81")
    net = _net(space, space.arch(40), layers=layers).train()
    assert net(torch.randn(2, 1, 7, 7))[0].shape == (2, 10)


def test_cifar_sized_forward():
    space = get_space("t81")
    net = Network(space, space.arch(0), in_channels=3, n_classes=10, layers=8, channels=16)
    assert [i for i, c in enumerate(net.cells) if c.reduction] == [2, 5]
    logits, _ = net.eval()(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 10)


def test_skip_has_fewer_params_than_sep():
    space = get_space("t81")
    skip = count_params(_net(space, _all(space, "skip_connect")))
    sep = count_params(_net(space, _all(space, "sep_conv_3x3")))
    assert 0 < skip < sep


def test_same_seed_same_network():
    space = get_space("t81")
    x = torch.randn(2, 1, 8, 8)
    outs = []
    for _ in range(2):
        torch.manual_seed(11)
        outs.append(_net(space, space.arch(17)).train()(x)[0])
    assert torch.equal(outs[0], outs[1])


def test_shared_space_uses_normal_edges_everywhere():
    space = CellSpace(name="shared", edges=dense_edges(["skip_connect", "sep_conv_3x3"],
                                                     shared=True), shared=True)
    net = _net(space, Arch((0, 1)))
    for cell in net.cells:
        assert isinstance(cell, Cell)
        assert cell.edge_ids == (0, 1)
    assert net.eval()(torch.randn(2, 1, 8, 8))[0].shape == (2, 10)


def test_two_node_space():
    space = CellSpace(name="two", edges=dense_edges(["sep_conv_3x3", "skip_connect"], nodes=2),
                      nodes=2, multiplier=2)
    arch = space.arch(space.size - 1)
    net = _net(space, arch)
    cell = net.cells[0]
    assert isinstance(cell, Cell) and len(cell.ops) == 5
    assert cell(torch.randn(2, 24, 8, 8), torch.randn(2, 24, 8, 8)).shape == (2, 16, 8, 8)
    assert net.train()(torch.randn(2, 1, 8, 8))[0].shape == (2, 10)


def test_custom_edge_factory_gets_stride_by_source():
    seen: list[tuple[int, int]] = []

    def factory(edge, c, stride):
        seen.append((edge.source, stride))
        return make_op("skip_connect", c, stride, affine=False)

    space = CellSpace(name="two", edges=dense_edges(["skip_connect"], nodes=2), nodes=2)
    cell = Cell([e for e in space.edges if e.cell == "reduce"], nodes=2, multiplier=1,
                c_pp=6, c_p=6, c=4, reduction=True, reduction_prev=False,
                edge_factory=factory)
    assert seen == [(0, 2), (1, 2), (0, 2), (1, 2), (2, 1)]
    assert cell(torch.randn(2, 6, 8, 8), torch.randn(2, 6, 8, 8)).shape == (2, 4, 4, 4)


# -- drop-path and auxiliary head -----------------------------------------------------------
def test_drop_path_only_in_training():
    space = get_space("t81")
    net = _net(space, space.arch(0))
    x = torch.randn(4, 1, 8, 8)
    net.eval()
    assert torch.equal(net(x, 0.0)[0], net(x, 0.5)[0])
    net.train()
    base = net(x, 0.0)[0]
    assert torch.equal(base, net(x, 0.0)[0])
    assert not torch.equal(base, net(x, 0.5)[0])


def test_drop_path_generator():
    space = get_space("t81")
    net = _net(space, space.arch(0)).train()
    x = torch.randn(4, 1, 8, 8)
    outs = []
    for _ in range(2):
        net.set_generator(torch.Generator().manual_seed(2))
        outs.append(net(x, 0.3)[0])
    assert torch.equal(outs[0], outs[1])


def test_auxiliary_head():
    space = get_space("t81")
    torch.manual_seed(1)
    net = _net(space, space.arch(4), auxiliary=True)
    torch.manual_seed(1)
    plain = _net(space, space.arch(4))
    x = torch.randn(3, 1, 8, 8)
    logits, aux = net.train()(x)
    assert logits.shape == (3, 10) and aux is not None and aux.shape == (3, 10)
    assert net.eval()(x)[1] is None
    assert count_params(net) == count_params(plain)
    assert count_flops(net, (1, 8, 8)) == count_flops(plain, (1, 8, 8))


# -- profile --------------------------------------------------------------------------------
def test_count_flops_toy():
    toy = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.Flatten(),
                        nn.Linear(4 * 8 * 8, 10))
    assert count_flops(toy, (1, 8, 8)) == 4 * 64 * 9 + 256 * 10
    assert count_params(toy) == 36 + 2560 + 10
    dw = nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6, bias=False)
    assert count_flops(dw, (6, 7, 7)) == 6 * 16 * 9


def test_count_flops_one_cell_network():
    # layers=1: one reduction cell. Stem 1->12 (3x3, 8x8); preprocess 12->8 twice (1x1, 8x8);
    # both edges skip = FactorizedReduce 8->4+4 (1x1 on 4x4); linear 8->10.
    space = get_space("t81")
    net = Network(space, _all(space, "skip_connect"), in_channels=1, n_classes=10,
                  layers=1, channels=4)
    stem = 12 * 64 * 9
    pre = 2 * (8 * 64 * 12)
    fr = 2 * (2 * 4 * 16 * 8)
    assert count_flops(net.train(), (1, 8, 8)) == stem + pre + fr + 80
    assert net.training


def test_count_flops_leaves_rng_alone():
    space = CellSpace(name="s4", edges=dense_edges(["noise", "sep_conv_3x3"]))
    net = _net(space, space.arch(0))
    torch.manual_seed(9)
    count_flops(net, (1, 8, 8))
    after = torch.rand(1)
    torch.manual_seed(9)
    assert torch.equal(after, torch.rand(1))
