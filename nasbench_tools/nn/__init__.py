"""Torch modules: the DARTS ops, the cell and macro network, and size counters.

>>> import torch
>>> from nasbench_tools.spaces import get_space
>>> from nasbench_tools.nn import Network, count_flops, count_params
>>> space = get_space("t81")
>>> net = Network(space, space.arch(0), in_channels=1, n_classes=10, layers=5, channels=8)
>>> logits, _ = net.eval()(torch.randn(2, 1, 8, 8))
>>> logits.shape
torch.Size([2, 10])
"""

from nasbench_tools.nn.network import Cell, EdgeFactory, MacroNetwork, Network, drop_path
from nasbench_tools.nn.ops import OPS, make_op
from nasbench_tools.nn.profile import count_flops, count_params
from nasbench_tools.nn.supernet import MixedOp, Supernet

__all__ = [
    "OPS",
    "Cell",
    "EdgeFactory",
    "MacroNetwork",
    "MixedOp",
    "Network",
    "Supernet",
    "count_flops",
    "count_params",
    "drop_path",
    "make_op",
]
