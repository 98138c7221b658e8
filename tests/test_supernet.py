"""Search supernet: alpha layout, relaxations, discretisation and the softmax null space."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nasbench_tools.exceptions import UnknownNameError
from nasbench_tools.hessian import eigenvalues, hessian_matrix
from nasbench_tools.nn import Supernet
from nasbench_tools.spaces import get_space


def small(space: str = "t81", **kw: object) -> Supernet:
    torch.manual_seed(0)
    return Supernet(get_space(space), in_channels=1, n_classes=10, layers=3, channels=4,
                    **kw)  # type: ignore[arg-type]


def test_alpha_layout_and_weight_split() -> None:
    net = small()
    assert [a.shape for a in net.arch_parameters()] == [(2, 3), (2, 3)]
    n_weights = sum(p.numel() for p in net.weight_parameters())
    assert n_weights + 12 == sum(p.numel() for p in net.parameters())


def test_discretize_round_trips_through_the_table_id() -> None:
    net = small()
    space = net.space
    with torch.no_grad():
        for a in net.arch_parameters():
            a.zero_()
        net.alphas["normal"][0, 2] = 1.0   # edge 0 -> max_pool
        net.alphas["reduce"][1, 1] = 1.0   # edge 3 -> skip
    arch = net.discretize()
    assert arch.ops == (2, 0, 0, 1)
    assert space.parse(space.genotype(arch)) == arch
    assert space.arch(space.index(arch)) == arch


def test_darts_parse_ignores_none_and_keeps_the_top_two_edges() -> None:
    """The DARTS parse: 'none' is never chosen while another op exists; a node with three inputs
    keeps the two strongest (the third becomes 'none')."""
    from nasbench_tools.spaces import CellSpace, dense_edges

    space = CellSpace(name="two-node", edges=dense_edges(["none", "skip_connect",
                                                           "sep_conv_3x3"], nodes=2),
                      nodes=2, multiplier=2)
    net = Supernet(space, in_channels=1, n_classes=10, layers=3, channels=4, init_scale=0.0)
    normal = net.alphas["normal"]  # rows: 0->2, 1->2, 0->3, 1->3, 2->3
    with torch.no_grad():
        normal[:, 0] = 5.0            # 'none' dominates every edge ...
        normal[0, 1] = 1.0            # ... but the parse leaves it out
        normal[2] = torch.tensor([5.0, 3.0, 0.0])   # node 3: edge 2 strongest,
        normal[3] = torch.tensor([5.0, 0.0, 2.0])   # edge 3 second,
        normal[4] = torch.tensor([5.0, 1.0, 0.0])   # edge 4 dropped
    ops = net.discretize().ops[:5]
    names = [space.edges[k].ops[o] for k, o in enumerate(ops)]
    # edge 1 ties skip and sep at 0 (after leaving out 'none'): the first op wins
    assert names == ["skip_connect", "skip_connect", "skip_connect", "sep_conv_3x3", "none"]


def test_one_hot_ignores_alpha_and_restores() -> None:
    net = small().eval()
    x = torch.randn(4, 1, 8, 8)
    arch = net.space.arch(40)
    with torch.no_grad(), net.one_hot(arch):
        before = net(x)[0]
        for a in net.arch_parameters():
            a.add_(torch.randn_like(a))
        after = net(x)[0]
    torch.testing.assert_close(before, after)
    assert net._fixed is None


def test_relaxations() -> None:
    sig = small(relaxation="sigmoid")
    w = sig.mixing_weights()["normal"]
    torch.testing.assert_close(w, torch.sigmoid(sig.alphas["normal"]))
    with pytest.raises(UnknownNameError, match="softmax"):
        small(relaxation="gumbel")


def test_softmax_supernet_hessian_has_the_per_edge_null_space() -> None:
    net = small().double().train()  # train-mode BN, as in the reference Hessian
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(16, 1, 8, 8, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 10, (16,), generator=gen)
    with torch.no_grad():
        for a in net.arch_parameters():
            a.copy_(torch.randn(a.shape, generator=gen, dtype=torch.float64))
    params = net.arch_parameters()

    def loss(an: torch.Tensor, ar: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(net(x)[0], y)

    lam = 1e-3
    h = hessian_matrix(loss, params, batched=False) + lam * torch.eye(12, dtype=torch.float64)
    for edge in range(4):
        ones = torch.zeros(12, dtype=torch.float64)
        ones[3 * edge: 3 * edge + 3] = 1.0
        torch.testing.assert_close(h @ ones, lam * ones, rtol=0, atol=1e-8)
    assert int(np.sum(np.abs(eigenvalues(h) - lam) < 1e-7)) >= 4
