"""Print the facts data/README.md records for a table: spread, seed agreement, best arch.

    python analysis/table_report.py data/t81-digits.h5 data/t81-none-digits.h5

Rank correlations are Kendall tau over the archs, on seed means unless a line says otherwise
(`nasbench_tools.stats.table_report` computes them).
"""

from __future__ import annotations

import argparse
import sys

from nasbench_tools.stats.table_report import table_report
from nasbench_tools.table import Benchmark

from _script import run


def report(path: str) -> str:
    return table_report(Benchmark.open(path)).format(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tables", nargs="+", help="table files (.h5)")
    args = ap.parse_args(argv)
    return run("table_report", lambda: print("\n\n".join(report(p) for p in args.tables)))


if __name__ == "__main__":
    sys.exit(main())
