"""nasbench-tools: exhaustive tabular benchmarks of small cell spaces, and DARTS on them.

Importing the package root is cheap: it pulls in neither torch nor matplotlib.

>>> from nasbench_tools import Benchmark, get_space
>>> space = get_space("t81")
>>> space.size
81
"""

from nasbench_tools.exceptions import NasbenchError
from nasbench_tools.spaces import Arch, CellSpace, get_space, list_spaces
from nasbench_tools.table import Benchmark, Metric

__version__ = "0.1.0"

__all__ = [
    "Arch",
    "Benchmark",
    "CellSpace",
    "Metric",
    "NasbenchError",
    "__version__",
    "get_space",
    "list_spaces",
]
