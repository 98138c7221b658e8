"""The DARTS bilevel toy (docs/methods.md, the bilevel step): fixed points and the finite
difference."""

from __future__ import annotations

import pytest
import torch

from nasbench_tools.search.bilevel import alpha_gradient


def toy() -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.tensor([2.0], dtype=torch.float64, requires_grad=True),
            torch.tensor([-2.0], dtype=torch.float64, requires_grad=True))


def losses(a: torch.Tensor, w: torch.Tensor):  # type: ignore[no-untyped-def]
    return (lambda: (w * w - 2 * a * w + a * a).sum(),   # L_tr
            lambda: (a * w - 2 * a + 1).sum())           # L_val


@pytest.mark.parametrize("xi,fixed", [(0.0, 2.0), (0.5, 1.0), (0.7, 2 / 2.4)])
def test_alternating_steps_reach_the_fixed_point(xi: float, fixed: float) -> None:
    a, w = toy()
    l_tr, l_val = losses(a, w)
    for _ in range(1500):
        (g_a,) = alpha_gradient(l_tr, l_val, [w], [a], xi=xi)
        with torch.no_grad():
            a -= 0.1 * g_a
        (g_w,) = torch.autograd.grad(l_tr(), [w])
        with torch.no_grad():
            w -= 0.1 * g_w
    assert float(a.detach()) == pytest.approx(fixed, abs=1e-6)
    assert float(w.detach()) == pytest.approx(fixed, abs=1e-6)


@pytest.mark.parametrize("start", [(2.0, -2.0), (0.3, 1.7), (-1.0, 0.5)])
def test_finite_difference_matches_autograd(start: tuple[float, float]) -> None:
    a = torch.tensor([start[0]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([start[1]], dtype=torch.float64, requires_grad=True)
    l_tr, l_val = losses(a, w)
    m = [torch.tensor([0.3], dtype=torch.float64)]
    kw = dict(xi=0.7, weight_decay=3e-4, momentum=0.9, momentum_buffers=m)
    fd = alpha_gradient(l_tr, l_val, [w], [a], **kw)  # type: ignore[arg-type]
    exact = alpha_gradient(l_tr, l_val, [w], [a], exact_mixed=True, **kw)  # type: ignore[arg-type]
    assert float(fd[0]) == pytest.approx(float(exact[0]), abs=1e-6)
    assert float(w.detach()) == start[1]  # the weights are restored exactly
