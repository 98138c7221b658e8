"""Draw a search trace (regret, lambda_max, one-shot vs discretised error) into a PNG.

    python analysis/plot_trace.py traces/darts-es-s0.h5 figures/darts-es-s0.png
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from nasbench_tools.plots import plot_trace
from nasbench_tools.search import SearchTrace

from _script import run


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: plot_trace.py TRACE.h5 OUT.png", file=sys.stderr)
        return 2
    return run("plot_trace", lambda: draw(argv[0], argv[1]))


def draw(trace_path: str, out: str) -> None:
    trace = SearchTrace.load(trace_path)
    axes = plot_trace(trace)
    axes[0].figure.tight_layout()
    axes[0].figure.savefig(out, dpi=120)
    plt.close(axes[0].figure)
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
