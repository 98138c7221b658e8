"""The DARTS candidate operations, built by name through a dict registry.

Every op maps ``[B, C, H, W]`` to ``[B, C, ceil(H / stride), ceil(W / stride)]`` (stride 1 or
2), also for odd and tiny inputs (8x8 -> 4x4 -> 2x2 -> 1x1, 7x7 -> 4x4). All convolutions have
``bias=False`` and every ReLU is out of place, because one cell input feeds several edges.

>>> import torch
>>> from nasbench_tools.nn.ops import make_op
>>> op = make_op("sep_conv_3x3", 8, 2, affine=True)
>>> op(torch.randn(2, 8, 7, 7)).shape
torch.Size([2, 8, 4, 4])

Randomness: the ``noise`` op draws i.i.d. N(0, 1) values (in training and in eval mode, as the
reference S4 op does) from ``op.generator`` when that attribute holds a ``torch.Generator``
(which must live on the input's device), and from the global torch RNG otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasbench_tools.exceptions import ConfigError, UnknownNameError

__all__ = [
    "OPS",
    "DilConv",
    "FactorizedReduce",
    "Identity",
    "Noise",
    "ReLUConvBN",
    "SepConv",
    "Zero",
    "make_op",
]


class ReLUConvBN(nn.Sequential):
    """ReLU, then a ``kernel x kernel`` convolution, then BatchNorm."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, *, affine: bool
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """ReLU, a dilated depthwise convolution, a pointwise convolution, BatchNorm."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int,
        padding: int,
        dilation: int,
        *,
        affine: bool,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation,
                groups=c_in, bias=False,
            ),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked separable blocks (ReLU, depthwise conv, pointwise conv, BN), as in DARTS.

    Only the first block carries the stride; the second keeps the spatial size.
    """

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, *, affine: bool
    ) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1, affine=affine),
            DilConv(c_in, c_out, kernel, 1, padding, 1, affine=affine),
        )


class Identity(nn.Module):
    """Returns its input unchanged (the stride-1 ``skip_connect``)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` op: zeros with the shape of the strided input."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        s = self.stride
        return torch.zeros_like(x[:, :, ::s, ::s])


class Noise(nn.Module):
    """The S4 ``noise`` op: i.i.d. N(mean, std^2) values shaped like the strided input.

    The output does not depend on the input's values, only on its shape, dtype and device.
    Set ``op.generator`` to a ``torch.Generator`` (on the input's device) to draw from it
    instead of the global RNG.
    """

    def __init__(self, stride: int, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        self.stride, self.mean, self.std = stride, mean, std
        self.generator: torch.Generator | None = None

    def forward(self, x: Tensor) -> Tensor:
        s = self.stride
        shape = x[:, :, ::s, ::s].shape
        z = torch.randn(shape, generator=self.generator, device=x.device, dtype=x.dtype)
        return z * self.std + self.mean

    def extra_repr(self) -> str:
        return f"stride={self.stride}, mean={self.mean}, std={self.std}"


class FactorizedReduce(nn.Module):
    """Halve H and W with two stride-2 1x1 convolutions offset by one pixel, concatenated.

    The input is zero-padded by one row and column at the bottom/right before the offset
    branch, so both branches give ``ceil(H / 2) x ceil(W / 2)`` for odd sizes too. ``c_out``
    need not be even: the second branch takes the extra channel.
    """

    def __init__(self, c_in: int, c_out: int, *, affine: bool) -> None:
        super().__init__()
        half = c_out // 2
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, half, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - half, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


OpBuilder = Callable[[int, int, bool], nn.Module]
"""``builder(channels, stride, affine) -> module``."""


def _skip(c: int, stride: int, affine: bool) -> nn.Module:
    return Identity() if stride == 1 else FactorizedReduce(c, c, affine=affine)


#: Op name -> builder. Keys are exactly ``nasbench_tools.spaces.KNOWN_OPS``.
OPS: dict[str, OpBuilder] = {
    "none": lambda c, s, a: Zero(s),
    "skip_connect": _skip,
    "sep_conv_3x3": lambda c, s, a: SepConv(c, c, 3, s, 1, affine=a),
    "sep_conv_5x5": lambda c, s, a: SepConv(c, c, 5, s, 2, affine=a),
    "dil_conv_3x3": lambda c, s, a: DilConv(c, c, 3, s, 2, 2, affine=a),
    "dil_conv_5x5": lambda c, s, a: DilConv(c, c, 5, s, 4, 2, affine=a),
    "max_pool_3x3": lambda c, s, a: nn.MaxPool2d(3, stride=s, padding=1),
    "avg_pool_3x3": lambda c, s, a: nn.AvgPool2d(3, stride=s, padding=1, count_include_pad=False),
    "conv_1x1": lambda c, s, a: ReLUConvBN(c, c, 1, s, 0, affine=a),
    "conv_3x3": lambda c, s, a: ReLUConvBN(c, c, 3, s, 1, affine=a),
    "noise": lambda c, s, a: Noise(s),
}

_POOLS = frozenset({"max_pool_3x3", "avg_pool_3x3"})


def make_op(
    name: str, channels: int, stride: int, *, affine: bool, pool_bn: bool = False
) -> nn.Module:
    """Build the op ``name`` on ``channels`` channels with ``stride`` (1 or 2).

    ``affine`` is passed to the op's BatchNorms (True in the discrete network, False in the
    search supernet). ``pool_bn=True`` appends ``BatchNorm2d(channels, affine=False)`` to the
    pooling ops, as the DARTS supernet does.
    Raises `UnknownNameError` for a name that is not in `OPS` and `ConfigError` for a
    stride other than 1 or 2.
    """
    try:
        builder = OPS[name]
    except KeyError:
        raise UnknownNameError("op", name, OPS) from None
    if stride not in (1, 2):
        raise ConfigError(f"op {name!r}: stride must be 1 or 2, got {stride!r}")
    op = builder(channels, stride, affine)
    if pool_bn and name in _POOLS:
        op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
    return op
