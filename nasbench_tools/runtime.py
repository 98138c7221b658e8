"""Where computation runs: device resolution and torch thread control.

torch is imported lazily, inside the functions, so that importing this module stays cheap.

>>> from nasbench_tools.runtime import resolve_device
>>> resolve_device("cpu")
'cpu'
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from nasbench_tools.exceptions import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")


def resolve_device(device: str = "auto") -> str:
    """Turn ``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` into a concrete device string.

    ``auto`` picks CUDA when it is available and the CPU otherwise; asking for CUDA on a machine
    without it is a `ConfigError`, never an exit.
    """
    text = str(device).strip().lower()
    if text == "cpu":
        return "cpu"
    if text != "auto" and not (text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit())):
        raise ConfigError(f"unknown device {device!r}; allowed: {', '.join(DEVICE_CHOICES)}")
    import torch

    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use cpu or auto")
    return text


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` intra-op torch threads, restoring the previous count after.

    Builds fix the count per run (default 1) so results do not depend on how many workers share
    the machine.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def environment() -> dict[str, str]:
    """Versions of the numeric stack, stored as provenance in every table."""
    import platform

    import numpy as np
    import torch

    from nasbench_tools import __version__

    return {
        "package_version": __version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "torch_version": torch.__version__,
        "cuda_version": str(torch.version.cuda),
        "platform": platform.platform(),
        # the CPU kernels torch chose (AVX2, AVX512, ...): CPU numbers reproduce bit for bit
        # only with the same kernels (set ATEN_CPU_CAPABILITY to choose them; data/README.md)
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
