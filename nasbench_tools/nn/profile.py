"""Model size: trainable parameters and multiply-accumulates (MACs) per image.

Both leave out the auxiliary head (a module attribute named ``auxiliary_head``), which is a
training aid and not part of the evaluated model.

>>> from torch import nn
>>> from nasbench_tools.nn import count_flops, count_params
>>> toy = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.Flatten(),
...                     nn.Linear(4 * 8 * 8, 10, bias=False))
>>> count_params(toy), count_flops(toy, (1, 8, 8))
(2596, 4864)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["count_flops", "count_params"]


def _auxiliary_modules(model: nn.Module) -> set[int]:
    """``id`` of every module inside ``model.auxiliary_head`` (empty if there is none)."""
    aux = getattr(model, "auxiliary_head", None)
    return {id(m) for m in aux.modules()} if isinstance(aux, nn.Module) else set()


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``), excluding the auxiliary head."""
    aux = getattr(model, "auxiliary_head", None)
    skip = {id(p) for p in aux.parameters()} if isinstance(aux, nn.Module) else set()
    return sum(p.numel() for p in model.parameters() if p.requires_grad and id(p) not in skip)


def _macs(module: nn.Module, out: Tensor) -> int:
    """MACs of one Conv2d / Linear call that produced ``out`` (bias adds are not counted)."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out.numel() * (module.in_channels // module.groups) * kh * kw
    assert isinstance(module, nn.Linear)
    return out.numel() * module.in_features


def count_flops(model: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """Multiply-accumulates of every Conv2d and Linear for one ``(C, H, W)`` input image.

    Runs one forward pass on a zero batch of size 1 in eval mode without gradients, inside
    ``torch.random.fork_rng`` so that random ops (``noise``) leave the global RNG untouched; the
    model's training mode is restored afterwards. Modules inside the auxiliary head are not
    counted. The count is of MACs (one multiply plus one add), not of separate FLOPs.
    """
    skip = _auxiliary_modules(model)
    total = 0

    def hook(module: nn.Module, _inputs: object, out: Tensor) -> None:
        nonlocal total
        total += _macs(module, out)

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear) and id(m) not in skip
    ]
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    was_training = model.training
    try:
        model.eval()
        devices = [device] if device.type == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            model(torch.zeros((1, *input_shape), device=device, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total
