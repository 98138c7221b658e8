"""Draw a search trace (regret, lambda_max, one-shot vs discretised error) into a PNG.

    python analysis/plot_trace.py traces/darts-es-s0.h5 figures/darts-es-s0.png
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from nasbench_tools.search import SearchTrace
from nasbench_tools.search.plots import plot_trace


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: plot_trace.py TRACE.h5 OUT.png")
    trace = SearchTrace.load(argv[0])
    axes = plot_trace(trace)
    axes[0].figure.tight_layout()
    axes[0].figure.savefig(argv[1], dpi=120)
    plt.close(axes[0].figure)
    print(f"wrote {argv[1]}")


if __name__ == "__main__":
    main(sys.argv[1:])
