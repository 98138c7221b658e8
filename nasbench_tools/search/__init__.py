"""DARTS replay on tables. For now: the DARTS-ES stopping rule as a pure function.

>>> from nasbench_tools.search import early_stop
>>> epochs = list(range(0, 50, 2))
>>> stop = early_stop(epochs, [0.1 if e <= 30 else 1.0 for e in epochs], last_epoch=49)
>>> stop.stop_epoch, stop.return_epoch, round(stop.ratio, 3)
(32, 20, 2.8)
"""

from nasbench_tools.search.early_stop import EarlyStop, early_stop, local_averages

__all__ = ["EarlyStop", "early_stop", "local_averages"]
