"""What the training loop trains: K models behind one small interface (`ModelGroup`).

`SingleModel` is one separate `Network` (K = 1), `FusedModels` a `FusedNetwork` of K.
The loop (`nasbench_tools.train.loop`) forms the training step and the epochs from their
methods; each keeps its own arithmetic (loss, clipping, epoch totals, evaluation), so a
separate run and a fused group compute exactly what their trainers always have.

>>> import torch
>>> from nasbench_tools.spaces import get_space
>>> from nasbench_tools.nn import Network
>>> space = get_space("t81")
>>> models = SingleModel(Network(space, space.arch(0), in_channels=1, n_classes=10,
...                              layers=2, channels=4))
>>> loss, acc = models.evaluate(torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 3]), 2)
>>> models.k, loss.shape, acc.shape
(1, (1,), (1,))
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasbench_tools.data.device import DeviceData
from nasbench_tools.nn import Network
from nasbench_tools.nn.fused import FusedNetwork, clip_per_model
from nasbench_tools.spaces import Arch, CellSpace
from nasbench_tools.train.protocol import Protocol


def param_dtype(protocol: Protocol) -> torch.dtype:
    """The dtype of weights and images: float64 for ``fp64``, else float32 (``bf16`` is
    autocast over float32 weights)."""
    return torch.float64 if protocol.precision == "fp64" else torch.float32


def autocast(protocol: Protocol, device: torch.device | str) -> torch.autocast:
    """The protocol's mixed precision as a context (a no-op for ``fp32``)."""
    kind = torch.device(device).type
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=protocol.precision == "bf16")


def at_least_fp32(t: Tensor) -> Tensor:
    """``t`` in float32 if it is in a lower precision (bf16 logits), else as it is."""
    return t.to(torch.promote_types(t.dtype, torch.float32))


def build_network(space: CellSpace, arch: Arch, protocol: Protocol, data: DeviceData
                  ) -> Network:
    """The network of ``arch``, initialised on the CPU in float32 (the current RNG) and
    then cast to the protocol's dtype, so fp32 and fp64 runs start from the same weights."""
    net = Network(space, arch, in_channels=data.in_channels, n_classes=data.n_classes,
                  layers=protocol.layers, channels=protocol.channels,
                  stem_multiplier=protocol.stem_multiplier, auxiliary=protocol.aux_weight > 0)
    return net.to(dtype=param_dtype(protocol))


class ModelGroup(ABC):
    """K models trained together on the same batches by one optimiser.

    ``module`` holds all their weights and buffers: the optimiser updates it, a checkpoint
    saves it, and its forward gives the logits of every model (``(logits, aux)``).
    Between `start_epoch` and `epoch_means` the training loop hands every batch's loss and
    logits to `tally`.
    """

    def __init__(self, module: nn.Module, k: int) -> None:
        self.module, self.k = module, k

    @abstractmethod
    def loss(self, logits: Tensor, y: Tensor) -> Tensor:
        """The batch-mean cross-entropy of every model, in float32 also for bf16 logits."""

    @abstractmethod
    def backward(self, loss: Tensor) -> None:
        """Back-propagate ``loss`` (as `loss` returns it) into every model's gradients."""

    @abstractmethod
    def clip(self, max_norm: float) -> None:
        """Clip the gradient norm of every model to ``max_norm``."""

    @abstractmethod
    def start_epoch(self, device: torch.device) -> None:
        """Reset the epoch's training totals."""

    @abstractmethod
    def tally(self, loss: Tensor, logits: Tensor, y: Tensor) -> None:
        """Add a training batch's loss and correct predictions to the epoch's totals."""

    @abstractmethod
    def epoch_means(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean training loss and accuracy of every model over the ``n`` images of the epoch
        (``[K]`` each, float64)."""

    @abstractmethod
    def evaluate(self, x: Tensor, y: Tensor, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean cross-entropy and accuracy of every model (eval mode) on ``(x, y)``."""


class SingleModel(ModelGroup):
    """One separate `Network`: cross-entropy, ``clip_grad_norm_``, the training loss summed
    in the weights' dtype, evaluation by `evaluate`."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__(net, 1)
        self.dtype = next(net.parameters()).dtype
        self.total = self.correct = torch.zeros(())

    def loss(self, logits: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(at_least_fp32(logits), y)

    def backward(self, loss: Tensor) -> None:
        loss.backward()

    def clip(self, max_norm: float) -> None:
        nn.utils.clip_grad_norm_(self.module.parameters(), max_norm)

    def start_epoch(self, device: torch.device) -> None:
        self.total = torch.zeros((), device=device, dtype=self.dtype)
        self.correct = torch.zeros((), device=device, dtype=torch.long)

    def tally(self, loss: Tensor, logits: Tensor, y: Tensor) -> None:
        self.total += loss.detach() * len(y)
        self.correct += (logits.detach().argmax(1) == y).sum()

    def epoch_means(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.array([float(self.total) / n]), np.array([float(self.correct) / n])

    def evaluate(self, x: Tensor, y: Tensor, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        loss, acc = evaluate(self.module, x, y, batch_size)
        return np.array([loss]), np.array([acc])


class FusedModels(ModelGroup):
    """The K models of a `FusedNetwork`: `per_model_loss`, `clip_per_model`, float64 totals,
    evaluation by `evaluate_fused`."""

    def __init__(self, net: FusedNetwork) -> None:
        super().__init__(net, net.k)
        self.net = net
        self.blocks = net.model_blocks()
        self.total = self.correct = torch.zeros(())

    def loss(self, logits: Tensor, y: Tensor) -> Tensor:
        return per_model_loss(logits, y)

    def backward(self, loss: Tensor) -> None:
        loss.sum().backward()

    def clip(self, max_norm: float) -> None:
        clip_per_model(self.blocks, self.k, max_norm)

    def start_epoch(self, device: torch.device) -> None:
        self.total = torch.zeros(self.k, device=device, dtype=torch.float64)
        self.correct = torch.zeros(self.k, device=device, dtype=torch.long)

    def tally(self, loss: Tensor, logits: Tensor, y: Tensor) -> None:
        self.total += loss.detach().double() * len(y)
        self.correct += (logits.detach().argmax(2) == y[:, None]).sum(0)

    def epoch_means(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return (self.total / n).cpu().numpy(), (self.correct.double() / n).cpu().numpy()

    def evaluate(self, x: Tensor, y: Tensor, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        return evaluate_fused(self.net, x, y, batch_size)


def per_model_loss(logits: Tensor, y: Tensor) -> Tensor:
    """Cross-entropy of every model, ``[B, K, classes]`` and ``[B]`` -> ``[K]`` (batch mean),
    in float32 also for bf16 logits."""
    n, k, _ = logits.shape
    return F.cross_entropy(at_least_fp32(logits).permute(0, 2, 1), y[:, None].expand(n, k),
                           reduction="none").mean(0)


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (eval mode) on ``(x, y)``."""
    model.eval()
    total_loss = torch.zeros((), device=y.device, dtype=torch.float64)
    correct = torch.zeros((), device=y.device, dtype=torch.long)
    for start in range(0, len(y), batch_size):
        logits, _ = model(x[start:start + batch_size])
        yb = y[start:start + batch_size]
        total_loss += F.cross_entropy(at_least_fp32(logits), yb, reduction="sum").double()
        correct += (logits.argmax(1) == yb).sum()
    return float(total_loss) / len(y), float(correct) / len(y)


@torch.no_grad()
def evaluate_fused(model: FusedNetwork, x: Tensor, y: Tensor, batch_size: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy of every model (eval mode) on ``(x, y)``: ``[K]`` each."""
    model.eval()
    total = torch.zeros(model.k, device=y.device, dtype=torch.float64)
    correct = torch.zeros(model.k, device=y.device, dtype=torch.long)
    for start in range(0, len(y), batch_size):
        logits, _ = model(x[start:start + batch_size])
        yb = y[start:start + batch_size]
        total += per_model_loss(logits, yb).double() * len(yb)
        correct += (logits.argmax(2) == yb[:, None]).sum(0)
    return (total / len(y)).cpu().numpy(), (correct.double() / len(y)).cpu().numpy()
