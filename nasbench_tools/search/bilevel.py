"""The architecture gradient of DARTS, first and second order (docs/methods.md).

Losses are closures that evaluate the current values of ``weights`` and ``alphas`` (e.g. a
forward pass of the supernet on a fixed batch); the second-order gradient temporarily moves the
weights in place and always restores them.

Second order ("unrolled"): with ``w' = w - xi * (grad_w L_tr(w, a) + mu * m + wd * w)`` and
``v = grad_w' L_val(w', a)``::

    g_a = grad_a L_val(w', a) - xi * grad2_{a,w} L_tr(w, a) . v

where the mixed product is the central difference
``[grad_a L_tr(w + eps v) - grad_a L_tr(w - eps v)] / (2 eps)`` with ``eps = 0.01 / ||v||``.

>>> import torch
>>> a = torch.tensor([2.0], requires_grad=True); w = torch.tensor([-2.0], requires_grad=True)
>>> g = alpha_gradient(lambda: (w * w - 2 * a * w + a * a).sum(),
...                    lambda: (a * w - 2 * a + 1).sum(), [w], [a], xi=0.0)
>>> float(g[0])                   # first order: dL_val/da = w - 2
-4.0
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor

Loss = Callable[[], Tensor]


def _grads(loss: Tensor, params: Sequence[Tensor], *, create_graph: bool = False
           ) -> list[Tensor]:
    out = torch.autograd.grad(loss, list(params), allow_unused=True, create_graph=create_graph)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(out, params, strict=True)]


@contextlib.contextmanager
def _moved(weights: Sequence[Tensor], steps: Sequence[Tensor], scale: float) -> Iterator[None]:
    """Temporarily set ``w <- w + scale * step`` in place (restored exactly afterwards)."""
    saved = [w.detach().clone() for w in weights]
    with torch.no_grad():
        for w, s in zip(weights, steps, strict=True):
            w.add_(s, alpha=scale)
    try:
        yield
    finally:
        with torch.no_grad():
            for w, old in zip(weights, saved, strict=True):
                w.copy_(old)


def alpha_gradient(
    train_loss: Loss, val_loss: Loss, weights: Sequence[Tensor], alphas: Sequence[Tensor], *,
    xi: float, weight_decay: float = 0.0, momentum: float = 0.0,
    momentum_buffers: Sequence[Tensor | None] | None = None, eps: float = 0.01,
    exact_mixed: bool = False,
) -> list[Tensor]:
    """DARTS gradient of the validation loss w.r.t. ``alphas``; ``xi == 0`` is first order.

    ``exact_mixed=True`` computes the mixed second-derivative product by double
    back-propagation instead of the finite difference (a check, and exact for quadratics).
    """
    if xi == 0.0:
        return _grads(val_loss(), alphas)
    g_w = _grads(train_loss(), weights)
    buffers = momentum_buffers or [None] * len(weights)
    step = [-(g + (momentum * m if m is not None else 0.0) + weight_decay * w.detach())
            for g, m, w in zip(g_w, buffers, weights, strict=True)]
    with _moved(weights, step, xi):  # weights now hold w'
        loss = val_loss()
        grads = _grads(loss, [*alphas, *weights])
    g_alpha, v = grads[: len(alphas)], grads[len(alphas):]
    mixed = _mixed_exact(train_loss, weights, alphas, v) if exact_mixed else \
        _mixed_difference(train_loss, weights, alphas, v, eps)
    return [ga - xi * m for ga, m in zip(g_alpha, mixed, strict=True)]


def _mixed_difference(train_loss: Loss, weights: Sequence[Tensor], alphas: Sequence[Tensor],
                      v: Sequence[Tensor], eps: float) -> list[Tensor]:
    norm = torch.sqrt(sum((x.detach() ** 2).sum() for x in v))  # type: ignore[arg-type]
    r = eps / float(norm) if float(norm) > 0 else 0.0
    if r == 0.0:
        return [torch.zeros_like(a) for a in alphas]
    with _moved(weights, v, r):
        plus = _grads(train_loss(), alphas)
    with _moved(weights, v, -r):
        minus = _grads(train_loss(), alphas)
    return [(p - m) / (2 * r) for p, m in zip(plus, minus, strict=True)]


def _mixed_exact(train_loss: Loss, weights: Sequence[Tensor], alphas: Sequence[Tensor],
                 v: Sequence[Tensor]) -> list[Tensor]:
    g_w = _grads(train_loss(), weights, create_graph=True)
    dot = sum((g * x.detach()).sum() for g, x in zip(g_w, v, strict=True))
    return _grads(dot, alphas)  # type: ignore[arg-type]
