"""Hessian tools: the checks (a)-(e) listed in docs/methods.md (the alpha-Hessian)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench_tools.exceptions import UnknownNameError
from nasbench_tools.hessian import dominant_eigenvalue, eigenvalues, hessian_matrix

LAMBDA = 1e-3


def random_spd(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(n, n, generator=g, dtype=torch.float64)
    return m @ m.T / n + torch.diag(torch.linspace(-1.0, 2.0, n, dtype=torch.float64))


@pytest.mark.parametrize("batched", [True, False])
def test_quadratic_gives_a_plus_lambda(batched: bool) -> None:
    a = random_spd(12, 0)
    x = torch.randn(12, dtype=torch.float64, requires_grad=True)
    eye = torch.eye(12, dtype=torch.float64)
    h = hessian_matrix(lambda v: 0.5 * v @ a @ v, x, batched=batched) + LAMBDA * eye
    torch.testing.assert_close(h, a + LAMBDA * eye, rtol=0, atol=1e-12)


def test_softmax_mixture_matches_the_closed_form() -> None:
    gen = torch.Generator().manual_seed(1)
    c = torch.randn(5, generator=gen, dtype=torch.float64)
    y = 0.3
    alpha = torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True)
    h = hessian_matrix(lambda a: 0.5 * (torch.softmax(a, 0) @ c - y) ** 2, alpha)
    p = torch.softmax(alpha.detach(), 0)
    m = p @ c
    r = m - y
    g = p * (c - m)
    eye = torch.eye(5, dtype=torch.float64)
    # dg_j/dalpha_i = p_j (delta_ij - p_i)(c_j - m) - p_j p_i (c_i - m)
    dg = (p[None, :] * (eye - p[:, None]) * (c - m)[None, :]
          - p[None, :] * p[:, None] * (c - m)[:, None])
    expected = g[:, None] * g[None, :] + r * dg
    torch.testing.assert_close(h, expected, rtol=0, atol=1e-8)


def two_cell_softmax_loss(an: torch.Tensor, ar: torch.Tensor) -> torch.Tensor:
    """A loss that sees alpha only through per-edge softmaxes (as a softmax supernet does)."""
    gen = torch.Generator().manual_seed(2)
    cn = torch.randn(an.shape, generator=gen, dtype=torch.float64)
    cr = torch.randn(ar.shape, generator=gen, dtype=torch.float64)
    wn, wr = torch.softmax(an, dim=1), torch.softmax(ar, dim=1)
    z = (wn * cn).sum(1).prod() + torch.tanh((wr * cr).sum(1)).sum() * (wn * cn).sum()
    return z**2


def test_per_edge_null_space_of_a_softmax_relaxation() -> None:
    gen = torch.Generator().manual_seed(3)
    an = torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    ar = torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    eye = torch.eye(24, dtype=torch.float64)
    h = hessian_matrix(two_cell_softmax_loss, [an, ar]) + LAMBDA * eye
    for edge in range(8):  # rows of [alpha_normal; alpha_reduce], row-major
        ones = torch.zeros(24, dtype=torch.float64)
        ones[3 * edge: 3 * edge + 3] = 1.0
        torch.testing.assert_close(h @ ones, LAMBDA * ones, rtol=0, atol=1e-10)
    lam = eigenvalues(h)
    assert int(np.sum(np.abs(lam - LAMBDA) < 1e-8)) >= 8


def test_symmetric_and_batched_equals_loop() -> None:
    gen = torch.Generator().manual_seed(4)
    an = torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    ar = torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    hb = hessian_matrix(two_cell_softmax_loss, [an, ar], batched=True)
    hl = hessian_matrix(two_cell_softmax_loss, [an, ar], batched=False)
    torch.testing.assert_close(hb, hb.T, rtol=0, atol=0)
    torch.testing.assert_close(hb, hl, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["quadratic", "mixture", "softmax-cells"])
def test_lanczos_agrees_with_eigvalsh(case: str) -> None:
    if case == "quadratic":
        a = random_spd(20, 5)
        fn, params = (lambda v: 0.5 * v @ a @ v), [torch.zeros(20, dtype=torch.float64,
                                                               requires_grad=True)]
    elif case == "mixture":
        c = torch.linspace(-1, 1, 6, dtype=torch.float64)
        fn = lambda a: (torch.softmax(a, 0) @ c - 0.2) ** 2  # noqa: E731
        params = [torch.linspace(-0.5, 0.5, 6, dtype=torch.float64).requires_grad_()]
    else:
        gen = torch.Generator().manual_seed(6)
        fn = two_cell_softmax_loss
        params = [torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
                  for _ in range(2)]
    exact = dominant_eigenvalue(fn, params, method="exact", shift=LAMBDA)
    lanczos = dominant_eigenvalue(fn, params, method="lanczos", shift=LAMBDA)
    assert lanczos == pytest.approx(exact, abs=1e-5)
    assert exact == pytest.approx(eigenvalues(hessian_matrix(fn, params))[-1] + LAMBDA)


def test_unknown_method() -> None:
    x = torch.zeros(2, requires_grad=True)
    with pytest.raises(UnknownNameError, match="lanczos"):
        dominant_eigenvalue(lambda v: (v**2).sum(), x, method="power")


@pytest.mark.parametrize("batched", [True, False])
def test_an_unused_parameter_gets_zero_rows(batched: bool) -> None:
    """E.g. alpha_normal of a network whose cells are all reduction cells."""
    a = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    unused = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    h = hessian_matrix(lambda x, _: (x ** 4).sum(), [a, unused], batched=batched)
    expected = torch.zeros(5, 5, dtype=torch.float64)
    expected[0, 0], expected[1, 1] = 12.0, 48.0
    assert torch.equal(h, expected)
