"""Hessian of a loss with respect to architecture parameters, and its eigenvalues (docs/methods.md).

``loss_fn`` maps the architecture parameters to a scalar loss; the parameters are one tensor or
a sequence of tensors (e.g. ``[alpha_normal, alpha_reduce]``), flattened row-major and
concatenated in order, which fixes the row order of the Hessian. Any ``+ lambda * I`` term from
the architecture weight decay is the caller's to add (``H + lam * eye``).

>>> import torch
>>> a = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
>>> x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
>>> H = hessian_matrix(lambda v: 0.5 * v @ a @ v, x)
>>> bool(torch.allclose(H, a))
True
>>> round(dominant_eigenvalue(lambda v: 0.5 * v @ a @ v, x, method="lanczos"), 6)
3.618034
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from nasbench_tools.exceptions import UnknownNameError

Params = torch.Tensor | Sequence[torch.Tensor]
LossFn = Callable[..., torch.Tensor]


def _as_list(params: Params) -> list[torch.Tensor]:
    return [params] if isinstance(params, torch.Tensor) else list(params)


def _flat_grad(loss_fn: LossFn, params: list[torch.Tensor]) -> torch.Tensor:
    loss = loss_fn(*params)
    # a parameter the loss does not use (e.g. alpha_normal of a net with only reduction
    # cells) has zero gradient and zero Hessian rows and columns
    grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    return _cat_grads(grads, params)


def _cat_grads(grads: Sequence[torch.Tensor | None], params: Sequence[torch.Tensor],
               lead: tuple[int, ...] = ()) -> torch.Tensor:
    """Per-parameter gradients flattened and concatenated on the last axis (``lead`` axes kept
    in front); a parameter the loss does not use contributes zeros."""
    return torch.cat([
        torch.zeros(*lead, p.numel(), dtype=p.dtype, device=p.device) if r is None
        else r.reshape(*lead, -1)
        for r, p in zip(grads, params, strict=True)
    ], dim=-1)


def hessian_matrix(loss_fn: LossFn, params: Params, *, batched: bool = True) -> torch.Tensor:
    """Exact ``[n, n]`` Hessian by double back-propagation, symmetrised.

    ``batched=True`` computes all n Hessian-vector products in one vectorised backward pass
    (``is_grads_batched``); ``batched=False`` loops over the n rows (slower; for ops that do not
    support vectorised backward).
    """
    plist = _as_list(params)
    g = _flat_grad(loss_fn, plist)
    n = g.numel()
    eye = torch.eye(n, dtype=g.dtype, device=g.device)
    if batched:
        rows = torch.autograd.grad(g, plist, grad_outputs=eye, is_grads_batched=True,
                                   allow_unused=True)
        h = _cat_grads(rows, plist, (n,))
    else:
        h = torch.empty(n, n, dtype=g.dtype, device=g.device)
        for j in range(n):
            row = torch.autograd.grad(g[j], plist, retain_graph=True, allow_unused=True)
            h[j] = _cat_grads(row, plist)
    return (0.5 * (h + h.T)).detach()


def eigenvalues(h: torch.Tensor | np.ndarray) -> np.ndarray:
    """All eigenvalues of a symmetric matrix, ascending (``numpy.linalg.eigvalsh``, float64)."""
    arr = h.detach().cpu().double().numpy() if isinstance(h, torch.Tensor) else np.asarray(h)
    return np.linalg.eigvalsh(arr.astype(np.float64))


def dominant_eigenvalue(loss_fn: LossFn, params: Params, *, method: str = "exact",
                        shift: float = 0.0, tol: float = 1e-10) -> float:
    """Largest algebraic eigenvalue of the Hessian (plus ``shift``, e.g. the weight decay).

    ``exact`` builds the whole matrix; ``lanczos`` runs ``scipy.sparse.linalg.eigsh`` (which="LA")
    on a Hessian-vector-product operator, never forming the matrix.
    """
    methods = {"exact": _exact_top, "lanczos": _lanczos_top}
    if method not in methods:
        raise UnknownNameError("eigenvalue method", method, methods)
    return methods[method](loss_fn, _as_list(params), tol) + shift


def _exact_top(loss_fn: LossFn, plist: list[torch.Tensor], tol: float) -> float:
    return float(eigenvalues(hessian_matrix(loss_fn, plist))[-1])


def _lanczos_top(loss_fn: LossFn, plist: list[torch.Tensor], tol: float) -> float:
    from scipy.sparse.linalg import LinearOperator, eigsh

    n = sum(p.numel() for p in plist)
    if n < 3:  # ARPACK needs k < n; tiny problems are cheaper exactly anyway
        return _exact_top(loss_fn, plist, tol)
    g = _flat_grad(loss_fn, plist)

    def matvec(v: np.ndarray) -> np.ndarray:
        vt = torch.as_tensor(np.ravel(v), dtype=g.dtype, device=g.device)
        hv = torch.autograd.grad(g, plist, grad_outputs=vt, retain_graph=True, allow_unused=True)
        return _cat_grads(hv, plist).detach().cpu().double().numpy()

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    v0 = np.ones(n) / np.sqrt(n)  # fixed start vector: deterministic result
    return float(eigsh(op, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)[0])
