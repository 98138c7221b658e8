"""DARTS replay on tables: the engine, its strategies, traces and the DARTS-ES rule.

``run_search`` and ``run_grid`` import torch when first used; traces, the stopping rule and
its offline replay on logged eigenvalues (``replay_es``) do not need it, so logged searches
can be analysed anywhere.

>>> from nasbench_tools.search import early_stop
>>> epochs = list(range(0, 50, 2))
>>> stop = early_stop(epochs, [0.1 if e <= 30 else 1.0 for e in epochs], last_epoch=49)
>>> stop.stop_epoch, stop.return_epoch, round(stop.ratio, 3)
(32, 20, 2.8)
"""

from __future__ import annotations

from typing import Any

from nasbench_tools.search.config import SearchConfig, get_search_config
from nasbench_tools.search.early_stop import EarlyStop, early_stop, local_averages
from nasbench_tools.search.replay import ReplayResult, replay_es
from nasbench_tools.search.trace import EpochRecord, SearchTrace

__all__ = ["EarlyStop", "EpochRecord", "ReplayResult", "SearchConfig", "SearchTrace",
           "early_stop", "get_search_config", "local_averages", "replay_es", "run_grid",
           "run_search"]


def __getattr__(name: str) -> Any:
    if name == "run_search":
        from nasbench_tools.search.engine import run_search

        return run_search
    if name == "run_grid":
        from nasbench_tools.search.grid import run_grid

        return run_grid
    raise AttributeError(f"module 'nasbench_tools.search' has no attribute {name!r}")
