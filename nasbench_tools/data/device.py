"""Datasets as normalised tensors on the compute device, and batched on-device augmentation.

This is the only module of ``nasbench_tools.data`` that imports torch. The whole split is
moved to the device once (as uint8, then converted there); training batches are index slices
of those tensors, and augmentation works on a whole batch at once with its randomness drawn
from a ``torch.Generator`` that the caller owns, never the global RNG.

>>> import torch
>>> from nasbench_tools.data import load_dataset, make_split
>>> from nasbench_tools.data.device import augment, to_device
>>> raw = load_dataset("digits")
>>> data = to_device(raw, make_split(raw, n_valid=300, n_test=300, seed=0), device="cpu")
>>> data.x_train.shape, data.in_channels, data.image_size, data.n_classes
(torch.Size([1197, 1, 8, 8]), 1, 8, 10)
>>> g = torch.Generator().manual_seed(0)
>>> augment(data.x_train[:96], g, crop_pad=1, flip=True).shape
torch.Size([96, 1, 8, 8])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from nasbench_tools.data.raw import RawDataset
from nasbench_tools.data.splits import SplitIndices
from nasbench_tools.exceptions import ConfigError


@dataclass(frozen=True, eq=False)
class DeviceData:
    """One split on one device: images float ``[N, C, H, W]`` normalised, labels int64 ``[N]``.

    ``mean`` / ``std`` are the per-channel statistics (on the 0..1 scale) of the train split
    that every split was normalised with.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]
    n_classes: int
    in_channels: int
    image_size: int

    def __repr__(self) -> str:
        return (
            f"DeviceData(train={len(self.y_train)}, valid={len(self.y_valid)}, "
            f"test={len(self.y_test)}, image=({self.in_channels}, {self.image_size}, "
            f"{self.image_size}), n_classes={self.n_classes}, device={self.device}, "
            f"dtype={self.x_train.dtype})"
        )

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    @property
    def pad_fill(self) -> tuple[float, ...]:
        """The normalised value of a black pixel, per channel (``-mean / std``).

        Pass it as ``augment(..., fill=data.pad_fill)`` to pad crops with black as torchvision's
        ``RandomCrop(padding=p)`` does before normalisation (the DARTS pipeline).
        """
        return tuple(-m / s for m, s in zip(self.mean, self.std, strict=True))


def channel_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean and (population) std on the 0..1 scale of uint8 ``[N, H, W, C]``.

    Uses a 256-bin histogram per channel, so it is exact and needs no float copy of the images.
    A constant channel gets std 1 so that normalising never divides by zero.
    """
    levels = np.arange(256, dtype=np.float64) / 255.0
    means, stds = [], []
    for c in range(x.shape[-1]):
        hist = np.bincount(x[..., c].reshape(-1), minlength=256).astype(np.float64)
        total = hist.sum()
        mean = float(hist @ levels / total) if total else 0.0
        var = float(hist @ (levels - mean) ** 2 / total) if total else 0.0
        means.append(mean)
        stds.append(float(np.sqrt(var)) if var > 0 else 1.0)
    return tuple(means), tuple(stds)


def _images(
    x: np.ndarray, device: torch.device, dtype: torch.dtype, mean: torch.Tensor, std: torch.Tensor
) -> torch.Tensor:
    """uint8 NHWC on the host -> normalised NCHW on ``device`` (moved as uint8, 4x less traffic)."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device)
    t = t.permute(0, 3, 1, 2).to(dtype).div_(255.0)
    return t.sub_(mean.view(1, -1, 1, 1)).div_(std.view(1, -1, 1, 1)).contiguous()


def to_device(
    raw: RawDataset,
    split: SplitIndices,
    *,
    device: torch.device | str,
    dtype: torch.dtype = torch.float32,
) -> DeviceData:
    """Gather the three splits of ``raw``, normalise with the train statistics, move to device."""
    c, h, w = raw.image_shape
    if h != w:
        raise ConfigError(f"dataset {raw.name!r}: images must be square, got {h}x{w}")
    if split.test_from_train:
        x_test_all, y_test_all = raw.x_train, raw.y_train
    elif raw.x_test is not None and raw.y_test is not None:
        x_test_all, y_test_all = raw.x_test, raw.y_test
    else:
        raise ConfigError(f"dataset {raw.name!r} has no test split but the split expects one")
    dev = torch.device(device)
    x_train = raw.x_train[split.train]
    mean, std = channel_stats(x_train)
    m = torch.tensor(mean, dtype=dtype, device=dev)
    s = torch.tensor(std, dtype=dtype, device=dev)

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)).to(dev)

    return DeviceData(
        x_train=_images(x_train, dev, dtype, m, s),
        y_train=labels(raw.y_train[split.train]),
        x_valid=_images(raw.x_train[split.valid], dev, dtype, m, s),
        y_valid=labels(raw.y_train[split.valid]),
        x_test=_images(x_test_all[split.test], dev, dtype, m, s),
        y_test=labels(y_test_all[split.test]),
        mean=mean,
        std=std,
        n_classes=raw.n_classes,
        in_channels=c,
        image_size=h,
    )


def _random_crop(
    x: torch.Tensor, pad: int, g: torch.Generator, fill: float | Sequence[float]
) -> torch.Tensor:
    """Pad by ``pad`` on each side, then cut an ``H x W`` window at a random offset per sample."""
    n, c, h, w = x.shape
    if isinstance(fill, int | float):
        padded = F.pad(x, (pad, pad, pad, pad), value=float(fill))
    else:
        if len(fill) != c:
            raise ConfigError(f"fill needs one value per channel ({c}), got {len(fill)}")
        padded = x.new_empty(n, c, h + 2 * pad, w + 2 * pad)
        padded.copy_(torch.as_tensor(fill, dtype=x.dtype, device=x.device).view(1, c, 1, 1))
        padded[:, :, pad : pad + h, pad : pad + w] = x
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=g, device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=g, device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # [N, H, 1]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]  # [N, 1, W]
    batch = torch.arange(n, device=x.device)[:, None, None]
    # Advanced indexing over (sample, row, col) of the NHWC view gives [N, H, W, C].
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def _random_flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Mirror each sample left-right with probability 1/2."""
    mask = torch.rand(x.shape[0], generator=g, device=x.device) < 0.5
    return torch.where(mask[:, None, None, None], x.flip(3), x)


def _cutout(x: torch.Tensor, size: int, g: torch.Generator, prob: float = 1.0) -> torch.Tensor:
    """Zero a ``size x size`` square at a uniformly random centre per sample, clipped at borders.

    As in DARTS the centre is any pixel and the square spans ``[c - size//2, c - size//2 + size)``
    (for even ``size`` exactly DARTS's ``[c - size/2, c + size/2)``). With ``prob < 1`` each
    sample is cut with that probability (R-DARTS ramps it); ``prob == 1`` draws nothing extra.
    """
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=g, device=x.device)
    cx = torch.randint(0, w, (n,), generator=g, device=x.device)
    y0, x0 = cy - size // 2, cx - size // 2
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    in_rows = (ys >= y0[:, None]) & (ys < (y0 + size)[:, None])  # [N, H]
    in_cols = (xs >= x0[:, None]) & (xs < (x0 + size)[:, None])  # [N, W]
    hole = in_rows[:, :, None] & in_cols[:, None, :]  # [N, H, W]
    if prob < 1.0:
        cut = torch.rand(n, generator=g, device=x.device) < prob
        hole = hole & cut[:, None, None]
    return x.masked_fill(hole[:, None], 0.0)


def augment(
    x: torch.Tensor,
    generator: torch.Generator,
    *,
    crop_pad: int = 0,
    flip: bool = False,
    cutout: int = 0,
    fill: float | Sequence[float] = 0.0,
    cutout_prob: float = 1.0,
) -> torch.Tensor:
    """Augment a batch ``[N, C, H, W]`` on its device: random crop, flip, cutout (in that order).

    ``crop_pad`` pads each side with ``fill`` (0, i.e. the mean colour of normalised data, or
    one value per channel such as ``DeviceData.pad_fill``) and crops back at a random offset;
    ``flip`` mirrors half the samples; ``cutout`` zeros a square per sample (each sample with
    probability ``cutout_prob``; 0 turns cutout off). All randomness
    comes from ``generator``, which must live on ``x``'s device. ``x`` is never modified; with
    everything off it is returned as is.
    """
    if crop_pad < 0 or cutout < 0:
        raise ConfigError(f"crop_pad and cutout must be >= 0, got {crop_pad} and {cutout}")
    if not 0.0 <= cutout_prob <= 1.0:
        raise ConfigError(f"cutout_prob must lie in [0, 1], got {cutout_prob}")
    if cutout_prob == 0.0:
        cutout = 0
    if not (crop_pad or flip or cutout):
        return x
    if x.ndim != 4:
        raise ConfigError(f"augment expects a batch [N, C, H, W], got shape {tuple(x.shape)}")
    if generator.device.type != x.device.type:
        raise ConfigError(
            f"the generator is on {generator.device} but the batch is on {x.device}; "
            "create it with torch.Generator(device=x.device)"
        )
    if crop_pad:
        x = _random_crop(x, crop_pad, generator, fill)
    if flip:
        x = _random_flip(x, generator)
    if cutout:
        x = _cutout(x, cutout, generator, cutout_prob)
    return x
