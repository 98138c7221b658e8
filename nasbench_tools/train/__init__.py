"""Training one architecture: protocols (no torch) and the trainer (torch, imported lazily).

>>> from nasbench_tools.train import get_protocol
>>> get_protocol("digits", "quick").dataset
'digits'

The trainer itself lives in ``nasbench_tools.train.trainer`` (it imports torch)::

    from nasbench_tools.train.trainer import train_architecture
    result = train_architecture(space.arch(0), space, protocol, seed=0, device="cpu")
"""

from nasbench_tools.train.protocol import Protocol, get_protocol, list_presets
from nasbench_tools.train.result import RunResult

__all__ = ["Protocol", "RunResult", "get_protocol", "list_presets"]
